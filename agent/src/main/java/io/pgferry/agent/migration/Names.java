package io.pgferry.agent.migration;

import io.pgferry.agent.problem.BadRequestException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Checks on names that arrive in requests; PostgreSQL truncates at 63 bytes, silently, so we refuse instead. */
public final class Names {
    public static final int MAX_BYTES = 63;

    private Names() {
    }

    public static String require(String field, String value) {
        if (value == null || value.isEmpty()) {
            throw new BadRequestException(field, field + " is required and must not be empty");
        }
        if (value.indexOf('\0') >= 0) {
            throw new BadRequestException(field, field + " must not contain a NUL character");
        }
        if (value.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
            throw new BadRequestException(field, field + " is longer than PostgreSQL's " + MAX_BYTES
                    + "-byte limit for names; PostgreSQL would truncate it to a different name");
        }
        return value;
    }

    public static List<String> requireAll(String field, List<String> values) {
        if (values == null) {
            return List.of();
        }
        for (int i = 0; i < values.size(); i++) {
            require(field + "[" + i + "]", values.get(i));
        }
        return List.copyOf(values);
    }
}
