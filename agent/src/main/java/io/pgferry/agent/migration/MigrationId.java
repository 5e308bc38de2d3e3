package io.pgferry.agent.migration;

import io.pgferry.agent.problem.BadRequestException;
import java.util.regex.Pattern;

/**
 * The name of a migration. Every object pgferry creates is named from it ({@code pgferry_<id>}: role,
 * publication, subscription, slot) so a rerun finds its own objects in the catalogs instead of making new ones.
 */
public record MigrationId(String value) {
    private static final Pattern VALID = Pattern.compile("[a-z][a-z0-9_]{0,39}");

    public MigrationId {
        if (value == null || !VALID.matcher(value).matches()) {
            throw new BadRequestException("migration", "the migration id must match [a-z][a-z0-9_]{0,39} "
                    + "(lower-case letters, digits and _, starting with a letter, at most 40 characters)");
        }
    }

    /** The name of the role, publication, subscription and slot of this migration; at most 48 bytes. */
    public String objectName() {
        return "pgferry_" + value;
    }

    @Override
    public String toString() {
        return value;
    }
}
