#!/usr/bin/env python3
"""Drives the `hemolens serve` page in a real headless Chromium through the DevTools protocol.

It loads the page, reaches the file input with the keyboard, uploads one real image the way a
user does (the file input), waits for the result and checks what a lab user must see: the
class the API gives for that image, its probability bars, the verdict, the reasons, and the
cell and nucleus outlines drawn over the displayed image. Then it uploads more images and
checks the table, sorting, the per-class summary, that the status line counts what the table
shows, and the table's CSV download (read back with Python's csv module). A screenshot is kept
as an artifact.

    drive_page.py URL SCREENSHOT.png IMAGE [IMAGE...]
Exit status 0 when every check passes; each failed check is printed.
"""
import base64
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

import websocket  # Debian: python3-websocket


def api_image(url, image):
    """What POST /api/analyze gives for an image (class, decision, ...): what the page must show."""
    boundary = uuid.uuid4().hex
    with open(image, "rb") as f:
        data = f.read()
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"images\"; filename=\"{os.path.basename(image)}\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(url + "api/analyze", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)["images"][0]


class Browser:
    """One headless Chromium and a DevTools session on its first page."""

    def __init__(self):
        self.profile = tempfile.TemporaryDirectory(prefix="hemolens-chromium-")
        self.proc = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--remote-debugging-port=0",
             "--user-data-dir=" + self.profile.name, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile.name, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        port = open(port_file).read().split()[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    def js(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, expression, seconds=30):
        end = time.time() + seconds
        while time.time() < end:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.1)
        return None

    def upload(self, selector, files):
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.call("DOM.setFileInputFiles", nodeId=node, files=[os.path.abspath(f) for f in files])

    def press_tab(self):
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key="Tab", code="Tab", windowsVirtualKeyCode=9)

    def close(self):
        self.ws.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.profile.cleanup()


def main():
    url, shot, images = sys.argv[1], sys.argv[2], sys.argv[3:]
    failures = []

    def check(what, ok, detail=""):
        print(("ok: " if ok else "FAIL: ") + what + (f" ({detail})" if detail and not ok else ""))
        if not ok:
            failures.append(what)

    b = Browser()
    try:
        b.call("Emulation.setDeviceMetricsOverride", width=1366, height=900, deviceScaleFactor=1, mobile=False)
        b.call("Page.enable")
        b.call("Page.navigate", url=url)
        model = b.wait_for("document.readyState === 'complete' && !document.querySelector('#model-info').textContent.startsWith('Loading') "
                           "&& document.querySelector('#model-info').textContent")
        check("the page loads and describes the model", bool(model) and "classes" in model, model)

        b.js("document.activeElement && document.activeElement.blur(); window.focus()")
        b.press_tab()
        check("the file input is the first thing the keyboard reaches", b.js("document.activeElement && document.activeElement.id") == "files",
              b.js("document.activeElement && document.activeElement.outerHTML.slice(0, 80)"))

        # One image through the file input, as a user picks it.
        api = api_image(url, images[0])
        expected = api["class"]
        b.upload("#files", images[:1])
        shown = b.wait_for("(document.querySelector('#detail:not([hidden]) [data-testid=class]') || {}).textContent")
        check("the predicted class is shown", shown == expected, f"page {shown!r}, API {expected!r}")
        check("a probability bar per class", b.js("document.querySelectorAll('#detail .bars li').length") >= 2)
        check("the verdict is in words", len(b.js("(document.querySelector('[data-testid=verdict]') || {}).textContent || ''")) > 20)
        check("the reasons are listed", b.js("document.querySelectorAll('#detail ol.reasons li').length") >= 3)
        decision = api["decision"]
        word = b.js("(document.querySelector('#detail [data-testid=decision] .word') || {}).textContent || ''")
        check("accept or review is shown as the API decides", word.lower() == decision["decision"], f"page {word!r}, API {decision!r}")
        if decision["decision"] == "review":
            codes = b.js("[...document.querySelectorAll('#detail [data-testid=decision] li[data-code]')].map(li => li.dataset.code)")
            check("every reason for review is given", codes == [r["code"] for r in decision["reasons"]], codes)
        drawn = b.js("""(() => {
            const img = document.querySelector('#detail .figure img');
            const cells = [...document.querySelectorAll('#detail .figure svg polygon.cell')];
            const nuclei = document.querySelectorAll('#detail .figure svg polygon.nucleus').length;
            const pts = cells.reduce((n, p) => n + p.points.numberOfItems, 0);
            const box = document.querySelector('#detail .figure svg').getBoundingClientRect();
            return {img: img ? img.naturalWidth : 0, cells: cells.length, nuclei, pts, w: box.width, h: box.height};
        })()""")
        check("the uploaded image is displayed", drawn["img"] > 0, drawn)
        check("the cell outline is drawn over it", drawn["cells"] >= 1 and drawn["pts"] >= 8 and drawn["w"] > 100, drawn)
        check("the nucleus outline is drawn", drawn["nuclei"] >= 1, drawn)
        check("the file input has a label", b.js("!!document.querySelector('label[for=files]')"))
        status = b.js("document.querySelector('#status').textContent")
        check("the status counts the one image", status == "Analysed 1 of 1 image.", status)
        b.call("Emulation.setDeviceMetricsOverride", width=1366, height=1400, deviceScaleFactor=1, mobile=False)
        png = base64.b64decode(b.call("Page.captureScreenshot", format="png")["data"])
        with open(shot, "wb") as f:
            f.write(png)
        check("screenshot saved", len(png) > 10000, shot)

        # Several images: a table, a summary per class, sortable columns.
        b.upload("#files", images[1:])
        rows = b.wait_for(f"document.querySelectorAll('#results tbody tr').length === {len(images)} && "
                          "![...document.querySelectorAll('#results tbody tr')].some(r => r.textContent.includes('analysing'))")
        check("every image gets a row in the table", bool(rows), b.js("document.querySelectorAll('#results tbody tr').length"))
        check("the summary counts images per class", b.js("document.querySelectorAll('#summary li').length") >= 1)
        decisions = b.js("[...document.querySelectorAll('#results tbody tr td:last-child')].map(td => td.textContent)")
        check("every row says accept or review", all(d == "accept" or d.startswith("review: ") for d in decisions), decisions)
        b.js("document.querySelector('#results th[data-key=file] button').click()")
        names = b.js("[...document.querySelectorAll('#results tbody tr td:first-child')].map(td => td.textContent.toLowerCase())")
        check("sorting by file name orders the rows", names == sorted(names), names)
        check("the sorted column says so", b.js("document.querySelector('#results th[data-key=file]').getAttribute('aria-sort')") == "ascending")
        # The status line describes what the table shows: the batch just added, and all rows.
        status = b.js("document.querySelector('#status').textContent")
        n = len(images)
        check("the status counts the rows of the table", f"Analysed {n - 1} of {n - 1} images. The table lists {n} images from all uploads: {n} analysed." == status, status)

        # The table as CSV, through the download button, as a user saves it.
        downloads = tempfile.mkdtemp(prefix="hemolens-downloads-")
        try:
            b.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=downloads)
        except RuntimeError:
            b.call("Page.setDownloadBehavior", behavior="allow", downloadPath=downloads)
        b.js("document.querySelector('#download-csv').click()")
        saved = os.path.join(downloads, "hemolens-results.csv")
        for _ in range(100):
            if os.path.exists(saved) and not os.path.exists(saved + ".crdownload"):
                break
            time.sleep(0.1)
        check("the CSV download is saved", os.path.exists(saved), os.listdir(downloads))
        if os.path.exists(saved):
            with open(saved, newline="") as f:
                rows = list(csv.DictReader(f))
            table = b.js("[...document.querySelectorAll('#results tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
            check("the CSV has a row per table row", len(rows) == len(table), f"{len(rows)} vs {len(table)}")
            by_file = {r["file"]: r for r in rows}
            check("the CSV names every file of the table", sorted(by_file) == sorted(t[0] for t in table), list(by_file))
            check("the CSV gives each file the class the table shows",
                  all(by_file.get(t[0], {}).get("class") == t[1] for t in table), table)
            sums = [sum(float(v) for k, v in r.items() if k.startswith("p_")) for r in rows]
            check("the CSV has every class's probability", all(abs(s - 1) < 1e-3 for s in sums) and "p_neutrophil" in rows[0], sums)
            decisions = [r.get("decision") for r in rows]
            check("the CSV says accept or review for every row", all(d in ("accept", "review") for d in decisions), decisions)
        shot_table = shot.replace(".png", "-table.png")
        with open(shot_table, "wb") as f:
            f.write(base64.b64decode(b.call("Page.captureScreenshot", format="png")["data"]))
    finally:
        b.close()
    print(f"{len(failures)} check(s) failed" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
