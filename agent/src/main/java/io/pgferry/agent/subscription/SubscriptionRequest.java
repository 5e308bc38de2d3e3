package io.pgferry.agent.subscription;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.problem.BadRequestException;
import java.util.Locale;

/**
 * Body of {@code PUT /v1/migrations/{m}/subscription}.
 *
 * @param copyData default true: copy the existing rows first; only used when the subscription is created
 * @param binary default false: the binary format needs identical types on both sides (an extension's type of
 *               another version can break the copy), text always works
 * @param streaming {@code on} (default), {@code off}, or {@code parallel} (target 16+); true and false are
 *                  accepted for on and off
 * @param enabled default true
 * @param createSlot default true: the subscription creates its slot; false takes the slot the copy step made (with
 *                   the snapshot the tables were copied in), which must exist; only used when it is created
 */
public record SubscriptionRequest(String database, SourceConnection connection, Boolean copyData, Boolean binary,
                                  String streaming, Boolean enabled, Boolean check, Boolean createSlot) {
    public SubscriptionRequest {
        Names.require("database", database);
        if (connection == null) {
            throw new BadRequestException("connection", "connection is required: {host, port, dbname, user, "
                    + "password, sslmode} of the source, with the replication role");
        }
        copyData = copyData == null || copyData;
        binary = binary != null && binary;
        streaming = streaming(streaming);
        enabled = enabled == null || enabled;
        check = check != null && check;
        createSlot = createSlot == null || createSlot;
    }

    private static String streaming(String value) {
        String v = value == null ? "on" : value.toLowerCase(Locale.ROOT);
        return switch (v) {
            case "on", "true" -> "on";
            case "off", "false" -> "off";
            case "parallel" -> "parallel";
            default -> throw new BadRequestException("streaming", "streaming must be on, off or parallel");
        };
    }

    @Override
    public String toString() {
        return "SubscriptionRequest[database=" + database + ", connection=" + connection + ", copy_data=" + copyData
                + ", binary=" + binary + ", streaming=" + streaming + ", enabled=" + enabled + ", check=" + check
                + ", create_slot=" + createSlot + "]";
    }
}
