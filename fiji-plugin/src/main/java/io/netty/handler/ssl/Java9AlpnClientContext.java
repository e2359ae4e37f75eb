package io.netty.handler.ssl;

import io.netty.buffer.ByteBufAllocator;
import java.io.File;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;

/**
 * A client TLS context with ALPN through the JDK's own (Java 9+) API, for Netty builds that lack
 * {@code JdkAlpnApplicationProtocolNegotiator}: Debian's netty-handler drops it, and gRPC needs
 * ALPN ("h2") for TLS. It lives in Netty's package to reach {@code Java9SslEngine}; the shade
 * plugin relocates it with Netty, so it never meets another copy of Netty in Fiji.
 */
public final class Java9AlpnClientContext {
    private Java9AlpnClientContext() {}

    /**
     * @param trustCertCollection PEM certificates to trust, or null for the JDK's default CAs
     */
    public static SslContext create(File trustCertCollection) throws SSLException {
        JdkApplicationProtocolNegotiator alpn = new JdkBaseApplicationProtocolNegotiator(
                new JdkApplicationProtocolNegotiator.AllocatorAwareSslEngineWrapperFactory() {
                    @Override
                    SSLEngine wrapSslEngine(SSLEngine engine, ByteBufAllocator alloc,
                            JdkApplicationProtocolNegotiator negotiator, boolean isServer) {
                        return new Java9SslEngine(engine, negotiator, isServer);
                    }
                },
                JdkBaseApplicationProtocolNegotiator.FAIL_SELECTOR_FACTORY,
                JdkBaseApplicationProtocolNegotiator.FAIL_SELECTION_LISTENER_FACTORY, "h2");
        return new JdkSslClientContext(trustCertCollection, null, null, IdentityCipherSuiteFilter.INSTANCE, alpn, 0, 0);
    }
}
