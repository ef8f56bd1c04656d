from db.models import Role

from .admin_support import login
from .factories import Chain, advance_to, new_project


def test_county_user_sees_grids_and_project_page(app, db):
    chain = Chain()
    project = advance_to(new_project(chain), "fundraising", chain)
    client = app.test_client()
    login(client, chain.users[Role.COUNTY])
    for url in ("/admin/", "/admin/village/", "/admin/project/", "/admin/donation/", "/admin/entry/",
                "/admin/expenditure/", "/admin/disclosure/", "/admin/volunteer/", "/admin/evaluation/",
                "/admin/audit_log/", "/admin/imports/", f"/admin/workflow/project/{project.id}",
                f"/admin/workflow/project/{project.id}/print", f"/admin/workflow/village/{chain.village.id}"):
        response = client.get(url)
        assert response.status_code == 200, url
    assert project.name in client.get("/admin/project/").get_data(as_text=True)
    assert client.get("/admin/users/").status_code == 403


def test_signed_out_users_are_sent_to_login(app, db):
    response = app.test_client().get("/admin/project/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
