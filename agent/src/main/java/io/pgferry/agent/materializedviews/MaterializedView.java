package io.pgferry.agent.materializedviews;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.problem.BadRequestException;
import io.pgferry.agent.sql.Sql;

/**
 * A materialized view as one side has it.
 *
 * @param ownerSuperuser whether its owner is a superuser there (REFRESH runs the view's query as the owner)
 * @param populated whether it holds data (one created WITH NO DATA and never refreshed does not)
 */
public record MaterializedView(String schema, String name, String owner, Boolean ownerSuperuser, Boolean populated) {
    public MaterializedView {
        Names.require("schema", schema);
        Names.require("name", name);
        Names.require("owner", owner);
        if (ownerSuperuser == null || populated == null) {
            throw new BadRequestException("owner_superuser", "each view needs owner_superuser and populated, as GET "
                    + "materialized-views answered on the other side");
        }
    }

    String quoted() {
        return Sql.qualified(schema, name);
    }
}
