"""Screenshots of the training pages for the README: docs/web_trainee.png, docs/web_instructor.png.

Serves the sorting line with ``vcommission train`` (its own ST program in-process), opens both
pages in headless Chromium (selenium, Debian chromium + chromium-driver), starts the line from
the trainee page, lets boxes run, injects a visible jam from the instructor page and takes the
pictures. Run from the repository root::

    python tools/readme_web_png.py [OUT_DIR]
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By

from vcommission.web import TrainingThread, TrainOptions

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "plant_models" / "sorting_line"
EXERCISE = MODEL / "exercises" / "jam_recovery.yaml"


def browser(width: int, height: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--no-sandbox", "--use-angle=swiftshader",
                     "--enable-unsafe-swiftshader", f"--window-size={width},{height}",
                     "--hide-scrollbars"):  # fmt: skip
        options.add_argument(argument)
    service = webdriver.ChromeService(shutil.which("chromedriver") or "chromedriver")
    return webdriver.Chrome(options=options, service=service)


def wait(predicate, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise SystemExit("timed out")
        time.sleep(0.1)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    options = TrainOptions(exercise=EXERCISE, web=("127.0.0.1", 0), duration=600, json=None)
    options.json = Path("/dev/null")  # the pictures only: no results file worth keeping
    with TrainingThread(MODEL, options) as web:
        driver = browser(1400, 1000)
        try:
            driver.get(web.endpoint)
            wait(lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
            driver.find_element(By.CSS_SELECTOR, "button[data-tag='start_pb.pressed']").click()
            time.sleep(14)  # boxes on the belt, a few sorted
            trainee = driver.current_window_handle
            driver.switch_to.new_window("tab")
            driver.get(f"{web.instructor_url}&view=1")
            wait(lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
            text = driver.find_element(By.ID, "fault-yaml")
            text.clear()
            text.send_keys("kind: belt_slip\nid: worn_belt\ncomponent: belt\nfactor: 0.6")
            driver.find_element(By.ID, "inject").click()
            time.sleep(6)  # the script's hidden jam at 15 s, the PLC faults the line at ~20 s
            driver.save_screenshot(str(out / "web_instructor.png"))
            driver.switch_to.window(trainee)
            time.sleep(1)
            driver.save_screenshot(str(out / "web_trainee.png"))
        finally:
            driver.quit()
    print(f"wrote {out / 'web_trainee.png'} and {out / 'web_instructor.png'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs")
