"""考核激励: scores within each item's maximum, all or none; the total follows the scores
and cannot be set; ties share a rank; the pages; the demo's assessments."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app import clock, domain
from app.domain import DomainError
from app.extensions import db
from models.cobuilding import assessments
from models.cobuilding.assessments import Assessment, AssessmentItem, AssessmentTemplate
from tests import factories as f


def template() -> AssessmentTemplate:
    made = domain.save(AssessmentTemplate(community=f.community(), name="测试考核", subject_type="volunteer"))
    for i, (title, top) in enumerate((("时长", 50), ("质量", 30), ("带动", 20))):
        domain.save(AssessmentItem(template=made, title=title, max_score=top, position=i))
    db.session.refresh(made)
    return made


def assess(made, subject, period="2099") -> Assessment:
    return domain.save(Assessment(template=made, period=period, subject=subject, assessed_on=clock.today(), total=99))


def test_scores_stay_within_the_maximum_all_or_none(ctx):
    made = template()
    row = assess(made, "甲")
    assert row.total == 0
    items = made.items
    with pytest.raises(DomainError) as error:
        assessments.record_scores(row, {items[0].id: 40, items[1].id: 31, items[2].id: "x"})
    db.session.rollback()
    text = str(error.value.errors())
    assert "0 到 30" in text and "整数" in text
    row = db.session.get(Assessment, row.id)
    assert row.total == 0 and not row.scores
    assessments.record_scores(row, {items[0].id: 40, items[1].id: 30, items[2].id: 5})
    assert row.total == 75
    assessments.record_scores(row, {items[2].id: 20})
    assert row.total == 90
    row.total = 100
    with pytest.raises(DomainError):
        domain.save(row)
    db.session.rollback()


def test_equal_totals_share_a_rank(ctx):
    made = template()
    rows = [assess(made, name) for name in ("甲", "乙", "丙", "丁")]
    for row, value in zip(rows, (80, 90, 80, 70)):
        assessments.record_scores(row, {made.items[0].id: min(value, 50), made.items[1].id: min(value - 50, 30),
                                        made.items[2].id: max(value - 80, 0)})
    ranked = [(rank, a.subject, a.total) for rank, a in assessments.ranking(made, "2099")]
    assert ranked == [(1, "乙", 90), (2, "丙", 80), (2, "甲", 80), (4, "丁", 70)]  # ties by name


def test_the_pages(as_user, ctx):
    made = template()
    row = assess(made, "页面考核对象")
    worker = as_user("worker")
    page = worker.get(f"/assessment/show/{row.id}").get_data(as_text=True)
    assert "保存评分" in page and "满分" in page
    done = worker.post(f"/assessment/score/{row.id}", data={f"item-{made.items[0].id}": "45"},
                       follow_redirects=True).get_data(as_text=True)
    assert "总分 45" in done
    ranking = worker.get(f"/assessment/ranking/?template={made.id}&period=2099").get_data(as_text=True)
    assert "页面考核对象" in ranking and "考核排名" in ranking
    assert as_user("leader").post(f"/assessment/score/{row.id}", data={}).status_code in (302, 403)


def test_the_demo_has_last_year_s_assessments(ctx):
    names = set(db.session.scalars(select(AssessmentTemplate.subject_type).where(
        AssessmentTemplate.community_id == f.community().id)))
    assert names == {"worker", "member", "volunteer", "committee"}
    rows = db.session.scalars(select(Assessment).where(Assessment.community_id == f.community().id)).all()
    assert len(rows) > 40 and all(0 < r.total <= r.template.full_marks for r in rows)
