"""Click-to-WhatsApp ads: the registry of the ads customers came from (from the `referral` Meta puts on the first
message a customer sends from an ad), and what each ad brought: conversations, contacts, replies, deals.

    models.py       Ad (one per organization x source), AdReferral (one per inbound message carrying a referral)
    services.py     ad_referrals_record (messaging's referral_received hook; the backfill command uses it too)
    selectors.py    the figures per ad and per day, aggregated in the database
    serializers.py  api.py  views.py   GET ads/, GET ads/{id}, the Ads tab of the CRM area
"""
