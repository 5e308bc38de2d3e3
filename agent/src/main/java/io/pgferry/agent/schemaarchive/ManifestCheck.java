package io.pgferry.agent.schemaarchive;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.pgferry.agent.json.Json;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.problem.BadRequestException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;

/**
 * The target's check of an uploaded manifest: fed the body as it streams to disk, then asked for the manifest, which
 * it parses only when the signature is this key's for this migration. Nothing an attacker sends without the key gets
 * further than a hash.
 */
public final class ManifestCheck {
    private final ArchiveKey key;
    private final ArchiveKey.Verifier verifier;

    private ManifestCheck(ArchiveKey key, MigrationId migration) {
        this.key = key;
        this.verifier = key.verifier(migration);
    }

    public static ManifestCheck start(ArchiveKey key, MigrationId migration) {
        return new ManifestCheck(key, migration);
    }

    public void update(byte[] buf, int off, int len) {
        verifier.update(buf, off, len);
    }

    /**
     * @param document the whole body, as fed to {@link #update}
     * @throws ApiException 422 {@code manifest_unsigned}, {@code manifest_key_mismatch} or
     *     {@code manifest_signature_invalid}; 400 {@code invalid_request} for a signed document that is no manifest
     */
    public Manifest verifiedManifest(Path document) throws IOException {
        switch (verifier.outcome()) {
            case VALID -> {
                try (InputStream in = ArchiveKey.unsigned(document).orElseThrow()) {
                    return Json.MAPPER.readValue(in, Manifest.class);
                } catch (JsonProcessingException e) {
                    throw new BadRequestException("body", "the signed document is not a manifest this agent reads: "
                            + e.getOriginalMessage());
                }
            }
            case UNSIGNED -> throw refused("manifest_unsigned", "the manifest carries no signature; upload the "
                    + "manifest exactly as GET schema-archive/manifest served it on the source agent (an agent of "
                    + "this version, with archive_key_file set)");
            case OTHER_KEY -> throw refused("manifest_key_mismatch", "the manifest was signed with archive key "
                    + verifier.keyIdGiven() + ", this agent holds key " + key.keyId() + "; give the source and the "
                    + "target agent the same archive_key_file, restart them, and make the archive again");
            default -> throw refused("manifest_signature_invalid", "the manifest's signature does not match its "
                    + "content: it was changed after the source agent signed it, or was made for another migration. "
                    + "Nothing was stored; make the archive again on the source and upload it unchanged");
        }
    }

    private static ApiException refused(String code, String detail) {
        return ApiException.unprocessable(code, detail, List.of());
    }
}
