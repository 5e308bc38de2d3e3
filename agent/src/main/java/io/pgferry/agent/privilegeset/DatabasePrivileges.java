package io.pgferry.agent.privilegeset;

import java.util.List;

/**
 * What belongs to the database itself: its owner, ACL (CONNECT, CREATE, TEMPORARY), its settings ({@code ALTER
 * DATABASE .. SET} and {@code ALTER ROLE .. IN DATABASE .. SET}), comment and security labels.
 */
public record DatabasePrivileges(String owner, List<AclEntry> acl, List<Setting> settings, String comment,
                                 List<SecurityLabel> securityLabels) {
    public DatabasePrivileges {
        acl = acl == null ? List.of() : List.copyOf(acl);
        settings = settings == null ? List.of() : List.copyOf(settings);
        securityLabels = securityLabels == null ? List.of() : List.copyOf(securityLabels);
    }

    /** @param role null for a setting of the database for every role */
    public record Setting(String role, String name, String value) {
    }

    public record SecurityLabel(String provider, String label) {
    }
}
