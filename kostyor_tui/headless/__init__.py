"""Headless mode: run one command, render its report, and say how it went in an exit code.

stdout carries the data; stderr carries narration and the one error line. It
imports neither Textual nor the server.
"""
