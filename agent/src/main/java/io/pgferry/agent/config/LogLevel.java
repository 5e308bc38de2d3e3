package io.pgferry.agent.config;

/** Logback's levels, as the agent's log_level accepts them. */
public enum LogLevel {
    TRACE,
    DEBUG,
    INFO,
    WARN,
    ERROR
}
