package io.pgferry.agent.config;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A password or token. Its toString never shows the value, so a secret cannot leak through a record's
 * toString, a log line or a serialized body by accident; the value is only reachable through {@link #reveal()}.
 */
public final class Secret {
    private final String value;

    private Secret(String value) {
        this.value = Objects.requireNonNull(value);
    }

    public static Secret of(String value) {
        return new Secret(value);
    }

    public String reveal() {
        return value;
    }

    public byte[] bytes() {
        return value.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "<redacted>";
    }
}
