from django.contrib import admin

from pricing.models import PriceSnapshot


@admin.register(PriceSnapshot)
class PriceSnapshotAdmin(admin.ModelAdmin):
    list_display = ("asset", "price_usd", "as_of", "source")
    list_filter = ("asset", "source")
    date_hierarchy = "as_of"
