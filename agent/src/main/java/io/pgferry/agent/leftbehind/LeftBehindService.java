package io.pgferry.agent.leftbehind;

import io.pgferry.agent.migration.ManifestScope;
import io.pgferry.agent.migration.ManifestScopes;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.preflight.Finding;
import io.pgferry.agent.preflight.LeftBehindChecks;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The report that ends the migrate and cutover playbooks: what this migration does not move, read from the source's
 * catalogs for the scope its schema archive recorded - the preflight's own checks ({@link LeftBehindChecks}), so the
 * two cannot disagree - plus the large objects when they are left behind.
 */
public final class LeftBehindService {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    /** @param items one warning per kind of object left behind, naming the objects */
    public record Report(String database, List<Finding> items) {
    }

    private final PgConnector connector;
    private final ManifestScopes scopes;

    public LeftBehindService(PgConnector connector, ManifestScopes scopes) {
        this.connector = connector;
        this.scopes = scopes;
    }

    public Report read(MigrationId migration, String database, LeftBehindChecks.Options options,
                       boolean skipLargeObjects) {
        ManifestScope scope = scopes.read(migration);
        try (Connection c = Steps.open(connector, database, TIMEOUT, true)) {
            List<Finding> items = new ArrayList<>(LeftBehindChecks.read(c, scope.schemas(), scope.tables(), options));
            if (skipLargeObjects) {
                try (Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_largeobject_metadata")) {
                    rs.next();
                    long count = rs.getLong(1);
                    if (count > 0) {
                        items.add(0, new Finding("large_objects_present", Finding.WARNING, List.of(count
                                + " large objects"), "as asked (skip_large_objects), the " + count + " large objects "
                                + "of the source are not moved", "copy them yourself (pg_dump --data-only --blobs "
                                + "of the source, restored into the target), or run the large_objects step"));
                    }
                }
            }
            return new Report(database, items);
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }
}
