def test_health_and_readiness_answer(client):
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_write_transactions_refuse_to_nest_and_a_failed_commit_leaves_the_session_usable(app):
    import pytest
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from museum import db
    from museum.models import Venue

    with pytest.raises(RuntimeError, match="nest"), db.write_transaction(), db.write_transaction():
        pass
    db.session().scalar(select(Venue.id))  # an open read transaction, as in a request
    with pytest.raises(IntegrityError), db.write_transaction() as session:
        session.add(Venue(key="main", name="Duplicate"))  # fails when the commit flushes it
    assert db.session().scalar(select(Venue.key).where(Venue.key == "main")) == "main"
