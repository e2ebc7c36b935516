"""A whole term on a real JupyterHub on 127.0.0.1, with real Unix users (needs root).

The class hub of ``deploy/jupyterhub`` runs as ``hubctl.py`` runs it for a teacher: JupyterHub
with configurable-http-proxy, PAM logins, the local-process spawner, nbgrader's exchange in a
local folder. The test makes an instructor and three students (Unix users with a random prefix,
homes under a temporary folder), then, in order:

1. the instructor releases ``lesson-exercises`` and ``lstm-from-scratch`` to the exchange;
2. each student logs in through the hub's API, starts a server, fetches the assignments as
   themselves and submits: alice the solution, bob the blank notebooks, carol half;
3. the instructor collects, grades (``python -m autograder grade``, sandboxed) and returns the
   feedback; each student fetches theirs and sees their own score; no student can read another's
   submission or feedback, in the exchange or at home (tried as that user);
4. in headless Chromium: the book's JupyterHub button opens a chapter on the hub, a student sees
   the assignments in the Assignments tab, the instructor grades a written answer in the
   formgrader and the export shows it;
5. stopping the hub leaves no process and no listening port behind.

Whatever happens, the hub is stopped and the users, their homes and the exchange removed.
"""

from __future__ import annotations

import csv
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from bs4 import BeautifulSoup

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hub_helpers import (  # noqa: E402
    BOOK_CHAPTER, DEPLOY, REPO, answers_for, build_small_book, filled, hub_pids,
    listening_ports, make_class, probe_as,
)

import lifecycle  # noqa: E402  (deploy/jupyterhub, put on the path by hub_helpers)
import singleuser  # noqa: E402
import unixusers  # noqa: E402
from hubsettings import BOOK_FOLDER  # noqa: E402

sys.path.insert(0, str(REPO))
from autograder.leaks import secret_lines  # noqa: E402

sys.path.insert(0, str(REPO / "_ext"))
import lstm_book  # noqa: E402

pytestmark = pytest.mark.slow

ASSIGNMENTS = ("lesson-exercises", "lstm-from-scratch")
WORK = {"alice": "solution", "bob": "blank", "carol": "half"}
SCORE = re.compile(r"\(Score: ([0-9.]+) / ([0-9.]+)\)")
WAIT_S = 120


def hubctl(hub, *args, timeout=900):
    """``python deploy/jupyterhub/hubctl.py --state <the test hub> ARGS`` (must succeed)."""
    argv = [sys.executable, str(DEPLOY / "hubctl.py"), "--state", str(hub.settings.state), *args]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"hubctl {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def hub():
    """The class: its Unix users, then ``hubctl.py up`` (group, course, exchange, roster, the
    hub); stopped and removed at the end, whatever happened."""
    if os.geteuid() != 0:
        pytest.fail("the class-hub test needs root: it makes Unix users and runs JupyterHub's "
                    "local-process spawner (CI runs as root)", pytrace=False)
    cls = make_class(list(WORK))
    try:
        for name, password in cls.passwords.items():  # the machine's admin makes the users
            unixusers.create_user(name, password, cls.settings.home_base)
        cls.settings.save()
        hubctl(cls, "up")
        yield cls
    finally:
        try:
            lifecycle.stop(cls.settings)
            lifecycle.remove(cls.settings)
        finally:
            unixusers.remove_group(cls.settings.unix_group)
            shutil.rmtree(cls.root, ignore_errors=True)
        left = [u for u in cls.settings.users if unixusers.exists(u)]
        assert not left, f"users left behind: {left}"


def course_dir(hub):
    return hub.settings.exchange / hub.settings.course_id


def exported(hub) -> dict[tuple[str, str], dict]:
    """(student, assignment) -> the row of ``hubctl.py export`` (the instructor's CSV)."""
    out = hubctl(hub, "export")
    path = hub.settings.course / "grades.csv"
    assert str(path) in out
    with open(path, newline="", encoding="utf-8") as fh:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(fh)}


# --- 1. release ---------------------------------------------------------------------------------
def test_1_the_instructor_releases_to_the_exchange(hub):
    settings = hub.settings
    assert lifecycle.mode_of(settings.course) == 0o700
    assert settings.course.stat().st_uid == unixusers.uid_of(settings.owner)
    hubctl(hub, "release", *ASSIGNMENTS)
    for name in ASSIGNMENTS:
        released = course_dir(hub) / "outbound" / name / f"{name}.ipynb"
        assert released.is_file(), f"{name} is not in the exchange"
        assert released.stat().st_uid == unixusers.uid_of(settings.owner)
        lines = {line.strip() for cell in nbformat.read(str(released), as_version=4).cells
                 for line in cell.source.splitlines()}
        leaked = sorted(secret_lines(settings.course / "source" / name / f"{name}.ipynb") & lines)
        assert not leaked, f"solution or hidden-test lines in the exchange: {leaked[:3]}"


# --- 2. students fetch and submit through the hub -----------------------------------------------
KERNEL_PROBE = ("import os, pwd, importlib.util, lstm_core\n"
                "print(os.environ['JUPYTERHUB_USER'], pwd.getpwuid(os.getuid()).pw_name,\n"
                "      importlib.util.find_spec('autograder') is None)")


def test_2_students_fetch_and_submit_as_themselves(hub):
    settings = hub.settings
    for short in WORK:  # the hub starts the servers side by side
        hub.user(short).request_server()
    for short, kind in WORK.items():
        user = hub.user(short)
        user.start_server()
        # the student's own kernel, as that Unix user, with no grader to import
        assert user.run_code(KERNEL_PROBE).split() == [user.name, user.name, "True"]
        assert user.server("GET", "/formgrader").status_code == 404
        listed = {a["assignment_id"]: a["status"] for a in user.assignments(settings.course_id)}
        assert all(listed.get(a) == "released" for a in ASSIGNMENTS), listed
        for name in ASSIGNMENTS:
            user.assignment_action("fetch", settings.course_id, name)
            path = f"{name}/{name}.ipynb"
            assert (unixusers.home_of(user.name) / path).stat().st_uid == unixusers.uid_of(user.name)
            notebook = user.read(path)["content"]
            user.write_notebook(path, filled(notebook, answers_for(kind, settings.course, name, user.name)))
            after = user.assignment_action("submit", settings.course_id, name)
            assert any(a["assignment_id"] == name and a["status"] == "submitted" for a in after)
    inbound = course_dir(hub) / "inbound"
    for user in settings.students:
        for name in ASSIGNMENTS:
            found = glob.glob(str(inbound / f"{user}+{name}+*"))
            assert len(found) == 1, f"{user}'s {name}: {found}"
            st = os.stat(found[0])
            assert st.st_uid == unixusers.uid_of(user)
            assert st.st_gid == unixusers.grp.getgrnam(settings.unix_group).gr_gid
            assert lifecycle.mode_of(found[0]) == 0o770
            assert lifecycle.mode_of(Path(found[0]) / f"{name}.ipynb") == 0o640


# --- 3. collect, grade, return; each student sees only their own --------------------------------
def test_3_the_instructor_collects_grades_and_returns_feedback(hub):
    for name in ASSIGNMENTS:
        collected = hubctl(hub, "collect", name)
        assert all(user in collected for user in hub.settings.students), collected
        graded = hubctl(hub, "grade", name, "--jobs", "2")
        assert f"{len(WORK)} student(s) graded" in graded and "0 could not be graded" in graded, graded
        returned = hubctl(hub, "return", name)
        assert f"feedback for {len(WORK)} of {len(WORK)} student(s)" in returned, returned
    assert (hub.settings.course / "gradebook.db").stat().st_uid == unixusers.uid_of(hub.settings.owner)


def test_3_the_grades_are_right(hub):
    rows = exported(hub)
    for name in ASSIGNMENTS:
        code = {s: float(rows[(hub.name(s), name)]["code_score"]) for s in WORK}
        top = float(rows[(hub.name("alice"), name)]["max_code_score"])
        assert code["alice"] == top > 0, f"{name}: the solution scored {code['alice']} of {top}"
        assert code["bob"] == 0, f"{name}: the blank notebook scored {code['bob']}"
        assert 0 < code["carol"] < top, f"{name}: half the solution scored {code['carol']} of {top}"


def test_3_each_student_fetches_their_own_feedback(hub):
    settings = hub.settings
    rows = exported(hub)
    for short in WORK:
        user = hub.user(short)
        for name in ASSIGNMENTS:
            listing = user.assignment_action("fetch_feedback", settings.course_id, name)
            (mine,) = [a for a in listing if a["assignment_id"] == name and a["status"] == "submitted"]
            (submission,) = mine["submissions"]
            assert submission["has_local_feedback"], f"{user.name} got no feedback for {name}"
            html = user.read(f"{submission['local_feedback_path']}/{name}.html")["content"]
            row = rows[(user.name, name)]
            shown = SCORE.search(html)
            assert shown, f"{user.name}'s {name} feedback shows no score"
            assert tuple(map(float, shown.groups())) == (float(row["score"]), float(row["max_score"])), (
                f"{user.name}'s {name} feedback shows {shown.group(0)}, the gradebook {row['score']}")
            folders = os.listdir(unixusers.home_of(user.name) / name / "feedback")
            assert folders == [submission["timestamp"]], f"{user.name} has feedback of {folders}"


def test_3_no_student_reads_another_students_work(hub):
    settings = hub.settings
    alice, bob = hub.name("alice"), hub.name("bob")
    inbound = course_dir(hub) / "inbound"
    name = "lesson-exercises"
    (alice_sub,) = glob.glob(str(inbound / f"{alice}+{name}+*" / f"{name}.ipynb"))
    (bob_sub,) = glob.glob(str(inbound / f"{bob}+{name}+*" / f"{name}.ipynb"))
    (alice_feedback,) = glob.glob(str(unixusers.home_of(alice) / name / "feedback" / "*" / f"{name}.html"))
    tries = [("list", inbound), ("list", course_dir(hub) / "feedback"), ("read", alice_sub),
             ("list", unixusers.home_of(alice)), ("read", alice_feedback),
             ("read", settings.course / "source" / name / f"{name}.ipynb"),
             ("read", settings.course / "gradebook.db")]
    seen = probe_as(settings, bob, tries + [("read", bob_sub)])
    assert seen.pop(f"read {bob_sub}") == "ok", "bob cannot read his own submission"
    assert set(seen.values()) == {"PermissionError"}, seen
    assert probe_as(settings, alice, [("read", alice_sub)]) == {f"read {alice_sub}": "ok"}


# --- 4. in the browser ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="lstm-hub-chromium-")
    options = webdriver.ChromeOptions()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--window-size=1280,900", f"--user-data-dir={profile}",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    except Exception as exc:  # a browser that does not start fails the test, never skips it
        pytest.fail(f"Chromium did not start ({exc}); apt-get install chromium chromium-driver",
                    pytrace=False)
    driver.set_page_load_timeout(WAIT_S)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait(driver, condition, what):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, WAIT_S).until(condition)
    except TimeoutException:
        pytest.fail(f"waited {WAIT_S} s for {what}; the page is {driver.current_url}", pytrace=False)


def log_out(driver, hub):
    """No one logged in: the hub's logout, and no cookie of the hub left."""
    driver.get(f"{hub.settings.url}/hub/logout")
    driver.delete_all_cookies()


def log_in(driver, hub, short):
    """Log in on the hub's login page (whatever page it came from)."""
    from selenium.webdriver.common.by import By

    wait(driver, lambda d: d.find_elements(By.ID, "username_input"), "the hub's login page")
    name = hub.name(short)
    driver.find_element(By.ID, "username_input").send_keys(name)
    driver.find_element(By.ID, "password_input").send_keys(hub.passwords[name])
    driver.find_element(By.ID, "login_submit").click()


def menu(driver, top, item):
    """Click JupyterLab's menu ``top`` and its entry ``item``."""
    from selenium.webdriver.common.by import By

    bar = wait(driver, lambda d: [m for m in d.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item")
                                   if m.text.strip() == top], f"the {top} menu")
    bar[0].click()
    entries = wait(driver, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, ".lm-Menu-item")
                                      if e.text.strip()], f"the {top} menu's entries")
    names = [e.text.strip() for e in entries]
    assert item in names, f"{top} menu: {names}"
    entries[names.index(item)].click()
    return names


@pytest.fixture(scope="module")
def books(hub, tmp_path_factory):
    """The first chapter built with the hub's address, and without one."""
    root = tmp_path_factory.mktemp("small-book")
    return {"hub": build_small_book(root / "hub", hub.settings.url),
            "none": build_small_book(root / "none", None)}


def test_4_the_book_shows_only_buttons_that_lead_somewhere(hub, books):
    url = lstm_book.hub_launch_url(hub.settings.url, BOOK_CHAPTER)
    assert url == f"{hub.settings.url}/hub/user-redirect/lab/tree/{BOOK_FOLDER}/{BOOK_CHAPTER}.ipynb"
    assert lstm_book.HUB_BOOK_FOLDER == BOOK_FOLDER == singleuser.BOOK_FOLDER
    for kind, page in books.items():
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        launch = [a["href"] for a in soup.select(".dropdown-launch-buttons a[href]")]
        assert launch == ([url] if kind == "hub" else []), f"{kind}: launch buttons {launch}"
        hrefs = [a["href"] for a in soup.select("a[href]")]
        dead = [h for h in hrefs if re.search(r"mybinder|colab\.research|github\.com|example\.org", h)]
        assert not dead, f"{kind}: buttons to targets that are not set: {dead}"


def test_4_a_student_opens_the_chapter_from_the_book_and_sees_the_assignments(hub, books, browser):
    from selenium.webdriver.common.by import By

    log_out(browser, hub)
    browser.get(books["hub"].as_uri())
    browser.find_element(By.CSS_SELECTOR, ".dropdown-launch-buttons button").click()
    link = wait(browser, lambda d: [a for a in d.find_elements(By.CSS_SELECTOR, ".dropdown-launch-buttons a")
                                    if a.is_displayed()], "the JupyterHub button")[0]
    assert link.text.strip() == "JupyterHub"
    link.click()  # opens in a new tab
    browser.switch_to.window(browser.window_handles[-1])
    log_in(browser, hub, "alice")
    chapter = Path(BOOK_CHAPTER).name + ".ipynb"
    wait(browser, lambda d: any(t.text.strip() == chapter for t in d.find_elements(
        By.CSS_SELECTOR, ".lm-DockPanel-tabBar .lm-TabBar-tabLabel")), f"{chapter} open in JupyterLab")
    assert f"/user/{hub.name('alice')}/lab/tree/{BOOK_FOLDER}/" in browser.current_url
    names = menu(browser, "Nbgrader", "Assignment List")
    assert "Formgrader" not in names and "Course List" not in names, names
    wait(browser, lambda d: all(a in d.find_element(By.ID, "submitted_assignments_list").text
                                for a in ASSIGNMENTS), "the submitted assignments in the Assignments tab")
    browser.close()
    browser.switch_to.window(browser.window_handles[0])


def written_answers(hub, name):
    """The grade ids of the written (hand-graded) answers of an assignment, in order."""
    nb = nbformat.read(str(hub.settings.course / "source" / name / f"{name}.ipynb"), as_version=4)
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]


def test_4_the_instructor_grades_a_written_answer_in_the_formgrader(hub, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    name, student = "lesson-exercises", hub.name("alice")
    before = exported(hub)[(student, name)]
    teacher = hub.user("teacher")
    teacher.start_server()
    submitted = teacher.server("GET", f"/formgrader/api/submitted_notebooks/{name}/{name}").json()
    (notebook_id,) = [s["id"] for s in submitted if s["student"] == student]
    answer = written_answers(hub, name)[0]

    log_out(browser, hub)
    browser.get(f"{hub.settings.url}/hub/login")
    log_in(browser, hub, "teacher")
    wait(browser, lambda d: "/lab" in d.current_url, "the instructor's JupyterLab")
    names = menu(browser, "Nbgrader", "Formgrader")
    assert "Assignment List" not in names, names
    browser.get(f"{hub.settings.url}/user/{teacher.name}/formgrader/submissions/{notebook_id}/")
    box = wait(browser, lambda d: d.find_elements(By.ID, answer), f"the score box of {answer}")[0]
    box.clear()
    box.send_keys("1.5")
    box.send_keys(Keys.TAB)  # the formgrader saves on change
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        after = exported(hub)[(student, name)]
        if float(after["written_score"]) == float(before["written_score"]) + 1.5:
            break
        time.sleep(1)
    assert float(after["written_score"]) == float(before["written_score"]) + 1.5, after
    assert float(after["score"]) == float(before["score"]) + 1.5


# --- 5. stop ---------------------------------------------------------------------------------
def test_5_stopping_the_hub_leaves_no_process_and_no_port(hub):
    settings = hub.settings
    processes = [psutil.Process(pid) for pid in hub_pids(hub)]
    ports = listening_ports({p.pid for p in processes})
    assert {settings.port, settings.hub_port, settings.proxy_api_port} <= set(ports), ports
    assert len(ports) >= 3 + len(settings.users), f"a server per user expected: {ports}"
    out = hubctl(hub, "down")
    assert "the hub is stopped" in out and "leftover" not in out, out
    alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"still running: {alive}"
    assert not lifecycle.class_processes(settings)
    still = set(ports) & set(listening_ports())
    assert not still, f"ports still listening: {sorted(still)}"
