package io.pgferry.agent.preflight;

import java.util.List;

/**
 * One result of a preflight check: a stable {@code code} (docs/findings.md), whether it blocks the migration
 * ({@code error}) or only needs attention ({@code warning}), the objects concerned, what was found, and how to fix it.
 */
public record Finding(String code, String severity, List<String> objects, String message, String fix) {
    public static final String ERROR = "error";
    public static final String WARNING = "warning";

    public Finding {
        objects = objects == null ? List.of() : List.copyOf(objects);
    }

    boolean isError() {
        return ERROR.equals(severity);
    }
}
