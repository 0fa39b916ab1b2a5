from django.urls import path

from ledger.api import (
    AssetListApi,
    BalanceListApi,
    LedgerEntryListApi,
    StaffDepositApproveApi,
    StaffDepositListCreateApi,
    StaffDepositRejectApi,
)

urlpatterns = [
    path("assets", AssetListApi.as_view(), name="asset-list"),
    path("balances", BalanceListApi.as_view(), name="balance-list"),
    path("ledger/entries", LedgerEntryListApi.as_view(), name="ledger-entry-list"),
    path("staff/deposits", StaffDepositListCreateApi.as_view(), name="staff-deposit-create"),
    path("staff/deposits/<int:pending_id>/approve", StaffDepositApproveApi.as_view(), name="staff-deposit-approve"),
    path("staff/deposits/<int:pending_id>/reject", StaffDepositRejectApi.as_view(), name="staff-deposit-reject"),
]
