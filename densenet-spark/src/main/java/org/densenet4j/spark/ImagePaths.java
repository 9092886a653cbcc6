package org.densenet4j.spark;

/** How the Spark stages name an image: a local file by its path, anything else by its URI. */
public final class ImagePaths {

    private ImagePaths() {
    }

    /**
     * A local file's URI as its path ({@code file:/a/b} and {@code file:///a/b} as {@code /a/b}); others as they are.
     */
    public static String local(String uri) {
        return uri.replaceFirst("^file:(//)?(?=/)", "");
    }
}
