package io.pgferry.agent.schemaapply;

import io.pgferry.agent.http.ApiException;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.schemaarchive.ArchiveFiles;
import io.pgferry.agent.schemaarchive.Manifest;
import io.pgferry.agent.schemaarchive.TocEntry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** An uploaded archive with the manifest that describes it: what the target's steps restore from. */
public record TargetArchive(ArchiveFiles files, Manifest manifest) {

    /** @throws ApiException 404 {@code archive_not_found} when either is missing or they do not belong together */
    public static TargetArchive load(Path stateDir, MigrationId migration) {
        ArchiveFiles files = new ArchiveFiles(stateDir, migration);
        Manifest manifest = files.requireManifest();
        try {
            if (!files.dumpSha256().equals(Optional.of(manifest.archiveSha256()))) {
                throw ApiException.notFound("archive_not_found", "the archive described by the manifest ("
                        + manifest.archiveSha256() + ") is not on this agent; upload it, then its manifest");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new TargetArchive(files, manifest);
    }

    /** COMMENT entries on the given entries: they are restored with the objects they describe. */
    public static List<TocEntry> withComments(Manifest manifest, List<TocEntry> chosen) {
        Set<Integer> ids = new HashSet<>();
        chosen.forEach(e -> ids.add(e.id()));
        return manifest.entries().stream()
                .filter(e -> ids.contains(e.id()) || (e.commentOn() != null && ids.contains(e.commentOn())))
                .toList();
    }
}
