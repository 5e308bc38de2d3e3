package io.pgferry.agent.fence;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgferry.agent.json.Json;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.state.StateFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** {@code state_dir/{m}/fence-<hash of the database name>.json}: when this agent fenced a database. */
public final class FenceFiles {
    private final Path dir;

    public FenceFiles(Path stateDir, MigrationId migration) {
        this.dir = stateDir.resolve(migration.value());
    }

    Path file(String database) {
        return StateFiles.perDatabase(dir, "fence-", database);
    }

    public Optional<String> fencedAt(String database) {
        Path f = file(database);
        if (!StateFiles.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(Json.MAPPER.readTree(f.toFile()).path("fenced_at").asText(null));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    public void record(String database, String fencedAt) {
        try {
            ObjectNode n = Json.MAPPER.createObjectNode().put("database", database).put("fenced_at", fencedAt);
            StateFiles.write(file(database), Json.MAPPER.writeValueAsBytes(n));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record the fence in " + dir, e);
        }
    }

    public void remove(String database) {
        try {
            Files.deleteIfExists(file(database));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the fence record in " + dir, e);
        }
    }
}
