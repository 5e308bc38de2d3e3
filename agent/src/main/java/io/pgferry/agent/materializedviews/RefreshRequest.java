package io.pgferry.agent.materializedviews;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.problem.BadRequestException;
import java.util.List;

/**
 * Body of {@code POST /v1/migrations/{m}/materialized-views}.
 *
 * @param source the views as the other side (the one clients leave) has them: which are populated there, and who owns
 *               them
 */
public record RefreshRequest(String database, List<MaterializedView> source, Boolean check) {
    public RefreshRequest {
        Names.require("database", database);
        if (source == null) {
            throw new BadRequestException("source", "source is required: the views GET materialized-views answered on "
                    + "the other side");
        }
        source = List.copyOf(source);
        check = check != null && check;
    }
}
