"""The operator dashboard's pages: an overview of every camera, a camera page (live view,
metrics, zone editor, exports) and a page to manage cameras.

    streamlit run dashboard/web/server.py     (the pages plus the HTTP API)

The pages hold no camera state of their own: they ask the service (`dashboard.service.core`),
which every tab and the API share.
"""
from __future__ import annotations

import cv2
import numpy as np
import streamlit as st
from PIL import Image

from dashboard.service.auth import Role
from dashboard.errors import SessionEnded
from dashboard.web.ui import camera, cameras, overview, users
from dashboard.web.ui.common import (current_user, follow_opening, health_banner, plain,
                                     service)


def favicon() -> Image.Image:
    """A 32x32 favicon drawn here: a warm spot on a cool field, as the heatmap paints.

    Example:
        >>> favicon().size
        (32, 32)
    """
    y, x = np.mgrid[0:32, 0:32]
    heat = np.clip(255 - 16 * np.hypot(x - 16, y - 16), 0, 255).astype(np.uint8)
    return Image.fromarray(cv2.cvtColor(cv2.applyColorMap(heat, cv2.COLORMAP_JET),
                                        cv2.COLOR_BGR2RGB))


def main() -> None:
    # A favicon of our own: a page's material icon would become it, and browsers fetch
    # those from an outside font host (the dashboard must work offline and ask no one).
    st.set_page_config(page_title="Heatmap dashboard", page_icon=favicon(), layout="wide")
    user = current_user()
    pages = {"overview": st.Page(overview.page, title="Overview", icon=":material/grid_view:",
                                 url_path="overview", default=True),
             "camera": st.Page(camera.page, title="Camera", icon=":material/videocam:",
                               url_path="camera")}
    if user is not None and user.role is Role.ADMIN:   # the service checks again in each
        pages["cameras"] = st.Page(cameras.page, title="Manage cameras",
                                   icon=":material/settings:", url_path="cameras")
        pages["users"] = st.Page(users.page, title="Users", icon=":material/group:",
                                 url_path="users")
    st.session_state["pages"] = pages
    if user is not None:
        st.sidebar.caption(f"{plain(user.name)} · {user.role.value}")
        # A fixed link in this same tab (st.link_button opens a new one); no user text in it.
        st.sidebar.markdown('<a href="/logout" target="_self">Log out</a>',
                            unsafe_allow_html=True)
    nav = st.navigation(list(pages.values()))
    follow_opening(nav.url_path == pages["camera"].url_path)
    if user is not None:
        try:
            svc = service()
            health_banner(svc)
            with st.sidebar:
                users.my_password(svc)
        except SessionEnded:     # ended since the line above: the page says so
            pass
    nav.run()


if __name__ == "__main__":   # Streamlit runs this file as __main__; importing it runs nothing
    main()
