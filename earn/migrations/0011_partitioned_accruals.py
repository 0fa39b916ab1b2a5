"""Accrual rows become range-partitioned by month of `date`, converted in place.

core.partitions.convert_to_partitioned copies the rows into a partitioned successor (the months of the
existing rows, this month and the next PARTITION_MONTHS_AHEAD, a default partition) and recreates its
indexes, the (position, date) unique key (it includes the partition column, so it holds across
partitions as it is), foreign keys and grants; the primary key becomes (id, date). No other table
references accrual rows. Reversible.
"""

from django.conf import settings
from django.db import migrations

from core.partitions import convert_to_partitioned, convert_to_plain


def partition(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        convert_to_partitioned(cursor, "earn_accrual", "date", months_ahead=settings.PARTITION_MONTHS_AHEAD)


def unpartition(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        convert_to_plain(cursor, "earn_accrual")


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0004_partition_functions"),
        ("earn", "0010_venue_exposure"),
    ]

    operations = [migrations.RunPython(partition, unpartition)]
