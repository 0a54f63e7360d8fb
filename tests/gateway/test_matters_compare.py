"""Cross-region comparison against hand-checked expectations."""

from __future__ import annotations

from datetime import date

from gateway.matters import MaterialPresence, compare_matter, default_catalogue


def presence(row, region) -> tuple:
    p: MaterialPresence = row.by_region[region]
    return (p.present, p.required, p.shareable)


def test_enterprise_establishment_before_national_day_2025() -> None:
    c = compare_matter(default_catalogue(), "010010300100", reference_date=date(2025, 9, 26))
    # ZJ promises 3 natural days: Sat 27 (rest), Sun 28 (make-up), Mon 29 -> 2 working days
    assert c.promised_working_days == {"SH": 1, "JS": 2, "ZJ": 2, "AH": 3}
    assert c.legal_working_days == {"SH": 3, "JS": 3, "ZJ": 3, "AH": 3}
    rows = {r.material_id: r for r in c.materials}
    assert [r.material_id for r in c.materials] == ["M01", "M02", "M03", "M04", "M05", "M06"]
    assert not rows["M01"].differs
    assert {r: presence(rows["M03"], r)[2] for r in c.regions} == {
        "SH": True, "JS": False, "ZJ": False, "AH": False,
    }  # fmt: skip
    assert presence(rows["M04"], "ZJ") == (False, False, False)
    assert {r for r in c.regions if presence(rows["M05"], r)[2]} == {"SH", "ZJ"}
    assert {r for r in c.regions if rows["M06"].by_region[r].present} == {"JS"}
    assert c.online_depth == {"SH": 4, "JS": 4, "ZJ": 4, "AH": 3}
    assert c.handling_modes["AH"] == ("全程网办", "异地代收代办")
    assert c.fee_total_fen == {"SH": 0, "JS": 0, "ZJ": 0, "AH": 0}
    assert c.differing_fields == (
        "name", "promised_time_limit", "materials", "online_depth", "handling_modes",
    )  # fmt: skip


def test_household_move_across_spring_festival_2026() -> None:
    c = compare_matter(default_catalogue(), "070010400100", reference_date=date(2026, 2, 12))
    # ZJ: 7 natural days after Thu 12 Feb: Fri 13, Sat 14 (make-up), then 15-19 holiday -> 2
    assert c.promised_working_days == {"SH": 5, "JS": 5, "ZJ": 2, "AH": 10}
    assert c.fee_total_fen == {"SH": 0, "JS": 500, "ZJ": 0, "AH": 800}
    assert c.online_depth == {"SH": 4, "JS": 3, "ZJ": 3, "AH": 3}
    assert c.handling_modes["AH"] == ("异地代收代办",)
    rows = {r.material_id: r for r in c.materials}
    assert {r for r in c.regions if presence(rows["M01"], r)[2]} == {"SH", "ZJ"}
    assert {r for r in c.regions if presence(rows["M03"], r)[2]} == {"SH"}
    assert c.differing_fields == (
        "promised_time_limit", "materials", "fees", "online_depth", "handling_modes",
    )  # fmt: skip
    # the same ZJ promise on an ordinary week is 5 working days
    later = compare_matter(default_catalogue(), "070010400100", reference_date=date(2026, 3, 12))
    assert later.promised_working_days["ZJ"] == 5


def test_subset_of_regions_and_dict_form() -> None:
    c = compare_matter(
        default_catalogue(), "200060100100", reference_date=date(2025, 3, 3), regions=("SH", "JS")
    )
    d = c.to_dict()
    assert d["regions"] == ["SH", "JS"] and d["reference_date"] == "2025-03-03"
    assert d["promised_working_days"] == {"SH": 0, "JS": 1}
    assert "SH" in d["materials"][0]["by_region"] and "ZJ" not in d["materials"][0]["by_region"]
