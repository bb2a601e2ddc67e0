"""A small help center in English and Arabic, and questions a customer would ask, each labelled with the heading of
the passage that answers it (paraphrased: other word forms, harakat, hamza variants, a conjunction stuck on)."""

ENGLISH = """# Returns and refunds
You can return any item within 30 days of delivery for a full refund. Items must be unused and in their original
packaging.

# Delivery times
Standard shipping takes 3 to 5 business days. Express delivery arrives the next business day when ordered before
2 pm.

# Shipping costs
Shipping is free on orders over 50 dollars. Below that, a flat fee of 5 dollars applies.

# Payment methods
We accept Visa, Mastercard, PayPal and bank transfers. Cash on delivery is available in some cities.

# Opening hours
Our support team is available Sunday to Thursday from 9 am to 6 pm. We are closed on public holidays.

# Warranty
Electronics carry a two-year warranty covering manufacturing defects. Damage from drops or water is not covered.

# Order tracking
Once your order ships, we e-mail you a tracking number. You can follow the parcel on the carrier's website.

# Password reset
To reset your password, click "Forgot password" on the sign-in page and follow the link we send by e-mail.
"""

ARABIC = """# الاسترجاع
يمكنك إرجاع أي منتج خلال ثلاثين يوماً من الاستلام واسترداد المبلغ كاملاً، بشرط أن يكون غير مستخدم وفي عبوته الأصلية.

# مدة الشحن
يستغرق الشحن العادي من ثلاثة إلى خمسة أيام عمل، ويصل الشحن السريع في يوم العمل التالي إذا طلبت قبل الساعة الثانية ظهراً.

# تكلفة الشحن
الشحن مجاني للطلبات التي تزيد قيمتها على مئتي ريال، وما دون ذلك تُضاف رسوم ثابتة قدرها عشرون ريالاً.

# طرق الدفع
نقبل بطاقات فيزا وماستركارد ومدى والتحويل البنكي، والدفع عند الاستلام متاح في بعض المدن.

# ساعات العمل
يعمل فريق الدعم من الأحد إلى الخميس من التاسعة صباحاً حتى السادسة مساءً، ونغلق في العطل الرسمية.

# الضمان
تأتي الأجهزة الإلكترونية بضمان لمدة سنتين يغطي عيوب التصنيع، ولا يشمل الضمان الكسر أو تلف الماء.

# تتبع الطلب
عند شحن طلبك نرسل إليك رقم تتبع بالبريد الإلكتروني، ويمكنك متابعة الشحنة على موقع شركة الشحن.

# كلمة المرور
لإعادة تعيين كلمة المرور اضغط على «نسيت كلمة المرور» في صفحة تسجيل الدخول واتبع الرابط المرسل إلى بريدك.
"""

QUESTIONS = [
    ("Can I return a product and get refunded?", "Returns and refunds"),
    ("How long does shipping take?", "Delivery times"),
    ("Is shipping free for my order?", "Shipping costs"),
    ("Do you take PayPal?", "Payment methods"),
    ("When are you open?", "Opening hours"),
    ("Is water damage covered by the warranty?", "Warranty"),
    ("Where can I track my parcel?", "Order tracking"),
    ("I forgot my password", "Password reset"),
    ("Can I pay cash when the order is delivered?", "Payment methods"),
    ("What are your hours on holidays?", "Opening hours"),
    ("هل يمكنني ارجاع المنتج واسترداد المبلغ؟", "الاسترجاع"),
    ("كم يستغرق الشَّحْن العادي؟", "مدة الشحن"),
    ("هل الشحن مجانى؟", "تكلفة الشحن"),
    ("ما هي طرق الدفع المتاحة؟", "طرق الدفع"),
    ("ما هي ساعات عمل فريق الدعم؟", "ساعات العمل"),
    ("هل يغطي الضمان كسر الجهاز؟", "الضمان"),
    ("كيف أتابع شحنتي؟", "تتبع الطلب"),
    ("نسيت كلمة المرور", "كلمة المرور"),
    ("هل يمكن الدفع عند الاستلام؟", "طرق الدفع"),
    ("متى يصل الشحن السريع؟", "مدة الشحن"),
]
