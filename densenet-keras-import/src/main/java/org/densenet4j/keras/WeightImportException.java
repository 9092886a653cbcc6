package org.densenet4j.keras;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A weight file that cannot be loaded into the requested graph: unreadable, not a Keras DenseNet
 * file, or a DenseNet of another shape. The message names the file and, where there is one, the
 * layer and the expected and found shapes.
 */
public class WeightImportException extends IOException {

    private static final long serialVersionUID = 1L;

    /** A problem with {@code file} as a whole. */
    public WeightImportException(Path file, String message) {
        super(file + ": " + message);
    }

    /** A problem with {@code file}, caused by {@code cause}. */
    public WeightImportException(Path file, String message, Throwable cause) {
        super(file + ": " + message, cause);
    }

    /** A problem with one layer of {@code file}. */
    public static WeightImportException atLayer(Path file, String layer, String message) {
        return new WeightImportException(file, "layer '" + layer + "': " + message);
    }
}
