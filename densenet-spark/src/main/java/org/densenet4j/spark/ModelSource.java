package org.densenet4j.spark;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

import org.densenet4j.preprocess.ImageClassifier;
import org.densenet4j.zoo.DenseNetPreset;

/**
 * A model as Spark ships it to the executors: the bytes of its zip (broadcast once per job), its
 * name for messages, and their SHA-256, by which each executor loads it once.
 *
 * @param name   the model zip or preset id it was resolved from
 * @param zip    the model zip's bytes
 * @param sha256 their SHA-256, hex
 */
public record ModelSource(String name, byte[] zip, String sha256) implements Serializable {

    /**
     * The model {@code spec} names: a model zip, or a preset id whose pretrained model is taken from
     * (or fetched into) the zoo cache on the driver.
     *
     * @throws IOException              when the zip cannot be read
     * @throws IllegalArgumentException      for an unknown preset
     * @throws UnsupportedOperationException for a preset without pretrained weights
     */
    public static ModelSource of(String spec) throws IOException {
        Path zip = ImageClassifier.namesFile(spec) ? Path.of(spec)
                : ImageClassifier.pretrainedZip(DenseNetPreset.fromId(spec));
        if (!Files.isRegularFile(zip)) {
            throw new IOException(spec + ": no such model zip");
        }
        byte[] bytes = Files.readAllBytes(zip);
        return new ModelSource(spec, bytes, sha256(bytes));
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return "ModelSource[" + name + ", " + zip.length + " bytes, sha256 " + sha256 + "]";
    }
}
