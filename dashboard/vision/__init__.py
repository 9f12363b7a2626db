"""Frames in, tracks out: sources (files, RTSP, webcams, browsers), detectors and their runtimes, secrets kept out of sight."""
