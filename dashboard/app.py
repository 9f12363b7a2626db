"""The operator dashboard's pages: an overview of every camera, a camera page (live view,
metrics, zone editor, exports) and a page to manage cameras.

    streamlit run dashboard/web.py     (the pages plus the HTTP API)

The pages hold no camera state of their own: they ask the service (`dashboard.service`),
which every tab and the API share.
"""
from __future__ import annotations

import streamlit as st

from dashboard.ui import camera, cameras, overview


def main() -> None:
    st.set_page_config(page_title="Heatmap dashboard", layout="wide")
    pages = {"overview": st.Page(overview.page, title="Overview", icon=":material/grid_view:",
                                 url_path="overview", default=True),
             "camera": st.Page(camera.page, title="Camera", icon=":material/videocam:", url_path="camera"),
             "cameras": st.Page(cameras.page, title="Manage cameras", icon=":material/settings:",
                                url_path="cameras")}
    st.session_state["pages"] = pages
    st.navigation(list(pages.values())).run()


main()
