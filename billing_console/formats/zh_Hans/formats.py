"""Simplified Chinese formats where the console departs from Django's.

Django groups Chinese numbers by four digits without a separator (万); invoices, bank
statements and cloud consoles in mainland China write amounts as 1,234,567.89, and an
amount must read the same on the page, the PDF and the spreadsheet.
"""

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
