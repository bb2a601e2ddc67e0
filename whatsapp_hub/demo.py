"""The demo of `make run`: its people (with published passwords), the templates of its sandbox number, and whether
this run is the embedded default."""

from django.conf import settings

from accounts.models import Role, User

DEMO_ORG = "Demo Store"
DEMO_PEOPLE = [
    ("admin@demo.local", "Dana Admin", Role.ADMIN, "demo-admin-pass"),
    ("agent@demo.local", "Omar Agent", Role.AGENT, "demo-agent-pass"),
    ("marketing@demo.local", "Maya Marketing", Role.MARKETING, "demo-marketing-pass"),
]

# Templates of the sandbox number, approved by the sandbox as they are created: the inbox's template picker and the
# campaigns have something to send. One with a header and quick replies, one with named variables, a marketing one
# whose website button ends with a variable, and one in Arabic.
DEMO_TEMPLATES = [
    {
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["#1042"]}},
            {
                "type": "BODY",
                "text": "Hi {{1}}, your order of {{2}} is on its way and arrives {{3}}. Need to change anything?",
                "example": {"body_text": [["Layla", "2 succulents", "on Thursday"]]},
            },
            {"type": "FOOTER", "text": "Demo Store"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "All good"},
                    {"type": "QUICK_REPLY", "text": "Change delivery"},
                ],
            },
        ],
    },
    {
        "name": "appointment_reminder",
        "language": "en_US",
        "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [
            {
                "type": "BODY",
                "text": "Hello {{first_name}}, this is a reminder of your fitting on {{date}} at {{time}}. Reply to "
                "reschedule.",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "first_name", "example": "James"},
                        {"param_name": "date", "example": "May 3"},
                        {"param_name": "time", "example": "10:30"},
                    ]
                },
            }
        ],
    },
    {
        "name": "spring_sale",
        "language": "en_US",
        "category": "MARKETING",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{1}}, our spring sale is on: {{2}} off everything until Sunday. Your link is below.",
                "example": {"body_text": [["Sofia", "20%"]]},
            },
            {"type": "FOOTER", "text": "Reply STOP to opt out"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": "Shop the sale",
                        "url": "https://shop.example/sale/{{1}}",
                        "example": ["https://shop.example/sale/sofia-20"],
                    }
                ],
            },
        ],
    },
    {
        "name": "welcome_back",
        "language": "ar",
        "category": "MARKETING",
        "components": [
            {
                "type": "BODY",
                "text": "أهلاً {{1}}، اشتقنا إليك! لدينا تشكيلة جديدة في المتجر هذا الأسبوع.",
                "example": {"body_text": [["ليلى"]]},
            },
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "أرني الجديد"}]},
        ],
    },
]


def production_signs() -> list[str]:
    """Why this configuration is not the embedded default (nothing when it is)."""
    signs = ["DEBUG is off"] if not settings.DEBUG else []
    return [*signs, "DATABASE_URL is set"] if settings.DATABASE_URL else signs


def sign_in_hint() -> dict | None:
    """The demo admin's e-mail and password for the sign-in page: only in the embedded default, once seeded."""
    email, _, _, password = DEMO_PEOPLE[0]
    if production_signs() or not User.objects.filter(email=email).exists():
        return None
    return {"email": email, "password": password}
