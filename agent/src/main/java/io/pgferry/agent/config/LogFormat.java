package io.pgferry.agent.config;

public enum LogFormat {
    TEXT,
    JSON
}
