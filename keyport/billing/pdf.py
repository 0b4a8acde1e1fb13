"""One PDF per invoice, drawn with fpdf2 (pure Python, no system libraries)."""

from fpdf import FPDF

from keyport.billing.models import Invoice


def _text(value: object) -> str:
    # fpdf2's built-in fonts speak Latin-1; anything else is shown as "?" rather than failing.
    return str(value).encode("latin-1", "replace").decode("latin-1")


def _vat_label(invoice: Invoice) -> str:
    """The VAT line names its rate (German invoices must): "VAT 19.00 %"."""
    rates = invoice.vat_rates()
    return "VAT " + ", ".join(f"{rate} %" for rate in rates) if rates else "VAT"


def invoice_pdf(invoice: Invoice) -> bytes:
    location = invoice.location
    pdf = FPDF(format="A4")
    pdf.set_title(_text(str(invoice)))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _text(location.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.cell(0, 5, _text(location.address), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(0, 8, _text(f"Invoice {invoice.number or '(draft)'}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for label, value in (
        ("Customer", invoice.customer.name),
        ("Issued", invoice.issued_on.isoformat() if invoice.issued_on else "not yet issued"),
        ("Due", invoice.due_on.isoformat()),
        *(
            [("Period", f"{invoice.period_starts_on.isoformat()} to {invoice.period_ends_on.isoformat()}")]
            if invoice.period_starts_on and invoice.period_ends_on
            else []
        ),
        ("Status", invoice.get_status_display()),
    ):
        pdf.cell(30, 6, _text(label))
        pdf.cell(0, 6, _text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = (80, 20, 30, 20, 30)
    pdf.set_font("Helvetica", "B", 10)
    for width, heading in zip(widths, ("Description", "Qty", "Unit price", "VAT %", "Amount"), strict=True):
        pdf.cell(width, 7, heading, border="B", align="L" if heading == "Description" else "R")
    pdf.ln()
    pdf.set_font("Helvetica", size=10)
    for line in invoice.lines.all():
        cells = (line.description, line.quantity, line.unit_price, line.tax_rate, line.net_amount)
        for index, (width, cell) in enumerate(zip(widths, cells, strict=True)):
            pdf.cell(width, 6, _text(cell), align="L" if index == 0 else "R")
        pdf.ln()
    pdf.ln(2)
    for label, amount in (
        ("Subtotal", invoice.subtotal),
        (_vat_label(invoice), invoice.tax_total),
        ("Total", invoice.total),
        ("Paid", invoice.amount_paid),
        ("Balance", invoice.balance),
    ):
        pdf.set_font("Helvetica", "B" if label in ("Total", "Balance") else "", 10)
        pdf.cell(sum(widths[:-1]), 6, label, align="R")
        pdf.cell(
            widths[-1], 6, _text(f"{amount} {invoice.currency}"), align="R", new_x="LMARGIN", new_y="NEXT"
        )
    return bytes(pdf.output())
