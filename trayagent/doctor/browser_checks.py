"""The doctor's browser hints: the address web apps use, and what browsers block.

Pure functions, run on the thread that runs the doctor. Browsers cannot be
asked from here, so every line is an ``info`` hint; docs/browsers.md has
the details and the policy settings for each browser.
"""

from .report import INFO, Check

ADDRESS = "Web address"
CHROME_EDGE = "Chrome and Edge"
SAFARI = "Safari"
HTTP_PAGES = "http pages"

BROWSER_GUIDE = "docs/browsers.md"


def browser_checks(port: int, allowed_origins: tuple[str, ...] = ()) -> list[Check]:
    """Return the address line and one hint per browser issue.

    :param port: the port of the running agent, or else the configured one.
    :param allowed_origins: the sites to name in the policy example.
    """
    ws_url = f"ws://127.0.0.1:{port}/ws"
    page_url = f"http://127.0.0.1:{port}/"
    policy_sites = list(allowed_origins) or ["https://SITE"]
    return [
        Check(
            ADDRESS,
            INFO,
            f"web apps must connect to {ws_url}; the test page is {page_url}.",
            None,
            {"ws_url": ws_url, "test_page": page_url},
        ),
        Check(
            CHROME_EDGE,
            INFO,
            "the first time a web site connects, Chrome and Edge ask whether it "
            "may connect to apps on this device (Local Network Access), and "
            "staff must click Allow. To allow the clinic's sites on every PC, "
            "an administrator adds them to the policy "
            "LocalNetworkAccessAllowedForUrls (Chrome 139 and Edge 140 and later) "
            "or LoopbackNetworkAllowedForUrls (both 146 and later).",
            None,
            {
                "policies": [
                    "LocalNetworkAccessAllowedForUrls",
                    "LoopbackNetworkAllowedForUrls",
                ],
                "policy_urls": policy_sites,
                "see": BROWSER_GUIDE,
            },
        ),
        Check(
            SAFARI,
            INFO,
            "Safari may block ws://127.0.0.1 on an https page as insecure "
            "content. If the form stays empty only in Safari, use Chrome, Edge "
            "or Firefox on this PC.",
            None,
            {"see": BROWSER_GUIDE},
        ),
        Check(
            HTTP_PAGES,
            INFO,
            "a web app served over plain http from another computer cannot "
            "show the Chrome and Edge prompt, so they block its connection. "
            "Serve the web app over https, or add it to the policy above. "
            f"More in {BROWSER_GUIDE}.",
            None,
            {"see": BROWSER_GUIDE},
        ),
    ]
