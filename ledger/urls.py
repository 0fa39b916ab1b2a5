from django.urls import path

from ledger.api import AssetListApi, BalanceListApi, LedgerEntryListApi, StaffDepositCreateApi

urlpatterns = [
    path("assets", AssetListApi.as_view(), name="asset-list"),
    path("balances", BalanceListApi.as_view(), name="balance-list"),
    path("ledger/entries", LedgerEntryListApi.as_view(), name="ledger-entry-list"),
    path("staff/deposits", StaffDepositCreateApi.as_view(), name="staff-deposit-create"),
]
