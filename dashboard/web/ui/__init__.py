"""The dashboard's Streamlit pages; they talk only to the service."""
