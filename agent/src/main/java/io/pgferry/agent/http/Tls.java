package io.pgferry.agent.http;

import io.pgferry.agent.config.PemKeyStore;
import io.pgferry.agent.config.TlsConfig;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The HTTPS connector, in place of Javalin's plain one: TLS 1.2+ only, the JDK's default (strong) cipher suites,
 * the key store built from the configured PEM files. No client certificates: clients prove themselves with the
 * bearer token, which TLS now keeps off the wire.
 */
final class Tls {
    private Tls() {
    }

    static ServerConnector connector(Server server, HttpConfiguration http, TlsConfig tls, String host, int port) {
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setKeyStore(tls.keyStore());
        ssl.setKeyStorePassword(new String(PemKeyStore.PASSWORD));
        ssl.setIncludeProtocols("TLSv1.3", "TLSv1.2");
        ssl.setSniRequired(false);
        HttpConfiguration https = new HttpConfiguration(http);
        SecureRequestCustomizer secure = new SecureRequestCustomizer();
        // Callers reach the agent by address as often as by name; the certificate's names are theirs to check.
        secure.setSniHostCheck(false);
        secure.setSniRequired(false);
        https.addCustomizer(secure);
        ServerConnector connector = new ServerConnector(server, new SslConnectionFactory(ssl, "http/1.1"),
                new HttpConnectionFactory(https));
        connector.setHost(host);
        connector.setPort(port);
        return connector;
    }
}
