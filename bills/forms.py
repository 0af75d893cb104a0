"""Forms the console's members fill in: ordering a product, managing members."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Membership, Order, Organization, Product
from .money import MONEY_MAX_DIGITS, currency_decimals
from .services import MAX_ORDER_AMOUNT, PLACEABLE_ORDER_TYPES, unpaid_order_for


class OrderForm(forms.Form):
    """A New Purchase or a prepaid Top-up of an amount, in the organization's currency."""

    order_type = forms.ChoiceField(
        label=gettext_lazy("Order type"),
        choices=[(value, Order.Type(value).label) for value in PLACEABLE_ORDER_TYPES],
        initial=Order.Type.NEW_PURCHASE,
        widget=forms.RadioSelect,
    )
    # The amount field is built per form: its decimals follow the organization's currency.
    accept_agreement = forms.BooleanField(
        error_messages={
            "required": gettext_lazy("Accept the service agreement to place the order.")
        },
    )

    def __init__(self, *args, organization: Organization, product: Product, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.product = product
        # Set by clean() when an Unpaid order already blocks this one, for a link to it.
        self.existing_order: Order | None = None
        currency = organization.currency
        places = currency_decimals(currency)
        smallest = Decimal(1).scaleb(-places)
        self.fields["amount"] = forms.DecimalField(
            label=_("Amount (%(currency)s)") % {"currency": currency},
            max_digits=MONEY_MAX_DIGITS,
            decimal_places=places,
            widget=forms.NumberInput(
                attrs={"min": str(smallest), "step": str(smallest), "inputmode": "decimal"}
            ),
        )
        self.order_fields(["order_type", "amount", "accept_agreement"])
        self.fields["accept_agreement"].label = _(
            "I have read and accept the %(product)s Service Agreement"
        ) % {"product": product.name}

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if amount <= 0:
            raise forms.ValidationError(_("Enter an amount greater than 0."), code="not_positive")
        if amount > MAX_ORDER_AMOUNT:
            raise forms.ValidationError(
                _("This amount is too large for one order."), code="too_large"
            )
        return amount

    def clean(self):
        cleaned = super().clean()
        self.existing_order = unpaid_order_for(self.organization, self.product)
        if self.existing_order is not None:
            raise forms.ValidationError(
                _(
                    "%(organization)s already has an Unpaid order for %(product)s "
                    "(%(number)s). Pay or cancel it before placing another."
                )
                % {
                    "organization": self.organization.name,
                    "product": self.product.name,
                    "number": self.existing_order.number,
                },
                code="unpaid_order_exists",
            )
        return cleaned


class MemberAddForm(forms.Form):
    """An existing user, by username or email address, and the role they get."""

    user = forms.CharField(
        label=gettext_lazy("Username or email"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    role = forms.ChoiceField(
        label=gettext_lazy("Role"), choices=Membership.Role.choices, initial=Membership.Role.VIEWER
    )


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Membership.Role.choices)
