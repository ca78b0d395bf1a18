"""The infrastructure itself: the live server answers, Chromium renders, checks run."""


def test_login_page_renders_in_chromium(visitor):
    response = visitor.goto("/login")
    assert response.status == 200
    assert "登录" in visitor.page.title()
    visitor.check_page()
    visitor.login("工作人员", "admin")
    assert "/admin/" in visitor.page.url
    visitor.assert_clean()
