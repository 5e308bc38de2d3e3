package io.pgferry.agent.largeobjects;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.problem.BadRequestException;
import java.util.List;

/** Body of {@code PUT /v1/migrations/{m}/large-objects/mark}: this side's mark once a sync is complete. */
public record MarkRequest(String database, String xmin, List<String> xids, Boolean check) {
    public MarkRequest {
        Names.require("database", database);
        if (xmin == null) {
            throw new BadRequestException("xmin", "xmin is required: the next_mark this side's scan answered");
        }
        check = check != null && check;
    }

    Mark mark() {
        return new Mark(xmin, xids);
    }
}
