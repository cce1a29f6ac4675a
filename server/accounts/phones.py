"""Phone numbers as people type them and as screens may show them."""


def normalise_phone(raw: str) -> str:
    """``+86 139 0000 0011`` → ``13900000011``."""
    phone = "".join(c for c in raw if c.isdigit() or c == "+")
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix):
            phone = phone[len(prefix) :]
    return phone


def mask_phone(phone: str) -> str:
    """``139****0011``: personal data is not shown in full (DOMAIN.md)."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"
