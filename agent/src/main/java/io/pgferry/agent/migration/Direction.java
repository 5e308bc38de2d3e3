package io.pgferry.agent.migration;

import io.pgferry.agent.problem.BadRequestException;

/**
 * Which stream of a migration: {@code forward} (source to target: publication, subscription and slot
 * {@code pgferry_<m>}) or {@code reverse} (after cutover, target back to the old source: all three
 * {@code pgferry_<m>_reverse}).
 */
public enum Direction {
    FORWARD, REVERSE;

    public static Direction parse(String value) {
        if (value == null || value.equals("forward")) {
            return FORWARD;
        }
        if (value.equals("reverse")) {
            return REVERSE;
        }
        throw new BadRequestException("direction", "direction must be forward or reverse");
    }

    /** Name of this stream's publication, subscription and slot. */
    public String objectName(MigrationId migration) {
        return this == FORWARD ? migration.objectName() : migration.objectName() + "_reverse";
    }

    @com.fasterxml.jackson.annotation.JsonValue
    public String value() {
        return this == FORWARD ? "forward" : "reverse";
    }
}
