package org.densenet4j.examples;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.zip.GZIPInputStream;

import org.densenet4j.io.Images;
import org.densenet4j.zoo.io.ImageTransform;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fashion-MNIST from its IDX files (gzipped or not), as Debian's {@code dataset-fashion-mnist}
 * installs them in {@value #DEBIAN_DIR}: 28x28 grayscale images of 0-255 and one-hot labels.
 */
public final class FashionMnist {

    /** Where Debian's dataset-fashion-mnist package puts the files. */
    public static final String DEBIAN_DIR = "/usr/share/datasets/fashion-mnist";

    /** The ten class names, in label order. */
    public static final List<String> LABELS = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    private static final int IMAGES_MAGIC = 2051;
    private static final int LABELS_MAGIC = 2049;

    private FashionMnist() {
    }

    /**
     * The input pipeline of "Dive into Deep Learning"'s {@code load_data_fashion_mnist(batch_size,
     * resize)}, for batches of {@link #load}'s images ([N, 1, 28, 28] of 0-255 values): torchvision's
     * {@code Resize(size)} on the PIL image (Pillow's bilinear resize of the 8-bit pixels, the shorter
     * side to {@code size}: a square image becomes {@code size x size}), then {@code ToTensor()}
     * (values / 255). The batch given is not changed.
     *
     * @throws IllegalArgumentException for a size below 1
     */
    public static UnaryOperator<INDArray> d2lInput(int size) {
        if (size < 1) {
            throw new IllegalArgumentException("the resize must be >= 1, was " + size);
        }
        ImageTransform resize = new ImageTransform(new ImageTransform.Stretch(size, size), null,
                ImageTransform.Interpolation.BILINEAR, true, ImageTransform.ChannelOrder.RGB,
                ImageTransform.Normalization.NONE);
        return batch -> {
            long[] shape = batch.shape();
            if (shape.length != 4 || shape[1] != 1 || shape[2] != shape[3]) {
                throw new IllegalArgumentException("expected square grayscale images [N, 1, H, H], got "
                        + java.util.Arrays.toString(shape));
            }
            int n = (int) shape[0];
            int h = (int) shape[2];
            int w = (int) shape[3];
            float[] pixels = batch.dup('c').data().asFloat();
            int outPlane = size * size;
            float[] scaled = new float[n * outPlane];
            byte[] image = new byte[h * w];
            for (int i = 0; i < n; i++) {
                for (int p = 0; p < image.length; p++) {
                    image[p] = (byte) Math.round(pixels[i * image.length + p]);
                }
                float[] resized;
                try {
                    resized = Images.fromPixels(image, h, w, 1, "image " + i + " of the batch", resize, 1);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                for (int p = 0; p < outPlane; p++) {
                    scaled[i * outPlane + p] = resized[p] / 255f;
                }
            }
            return Nd4j.create(scaled, new long[] {n, 1, size, size}, 'c');
        };
    }

    /**
     * The training (60,000) or test (10,000) set, or its first {@code limit} examples: features
     * [N, 1, 28, 28] of 0-255 values, labels one-hot [N, 10].
     *
     * @throws IOException naming the file that is missing or malformed, and how to install the set
     */
    public static DataSet load(Path dir, boolean train, int limit) throws IOException {
        String prefix = train ? "train" : "t10k";
        Path images = find(dir, prefix + "-images-idx3-ubyte");
        Path labels = find(dir, prefix + "-labels-idx1-ubyte");
        try (DataInputStream im = open(images); DataInputStream lb = open(labels)) {
            int magic = im.readInt();
            int n = im.readInt();
            int rows = im.readInt();
            int cols = im.readInt();
            if (magic != IMAGES_MAGIC || n <= 0 || rows != 28 || cols != 28) {
                throw new IOException(images + ": not a Fashion-MNIST IDX image file (magic " + magic + ", "
                        + n + " images of " + rows + "x" + cols + ")");
            }
            if (lb.readInt() != LABELS_MAGIC || lb.readInt() != n) {
                throw new IOException(labels + ": not the IDX label file of " + images.getFileName());
            }
            int count = limit > 0 ? Math.min(limit, n) : n;
            byte[] pixels = new byte[count * rows * cols];
            im.readFully(pixels);
            byte[] classes = new byte[count];
            lb.readFully(classes);
            float[] x = new float[pixels.length];
            for (int i = 0; i < pixels.length; i++) {
                x[i] = pixels[i] & 0xff;
            }
            INDArray features = Nd4j.create(x, new long[] {count, 1, rows, cols}, 'c');
            INDArray oneHot = Nd4j.zeros(DataType.FLOAT, count, LABELS.size());
            for (int i = 0; i < count; i++) {
                if (classes[i] < 0 || classes[i] >= LABELS.size()) {
                    throw new IOException(labels + ": label " + classes[i] + " at " + i + " is not 0-9");
                }
                oneHot.putScalar(i, classes[i], 1f);
            }
            return new DataSet(features, oneHot);
        } catch (EOFException e) {
            throw new IOException(images + " or " + labels + ": truncated", e);
        }
    }

    /** Whether {@code dir} holds the test set (the IDX files, gzipped or not). */
    public static boolean hasTestSet(Path dir) {
        for (String name : new String[] {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
            if (!Files.isRegularFile(dir.resolve(name + ".gz")) && !Files.isRegularFile(dir.resolve(name))) {
                return false;
            }
        }
        return true;
    }

    /** Class path folder of the sample test images shipped with the examples. */
    public static final String SAMPLES = "/org/densenet4j/examples/fashion-mnist-samples/";

    /**
     * The sample test images shipped with the examples, written into {@code dir} as PNG files
     * ({@code INDEX_LABEL.png}); returns them in order.
     */
    public static List<Path> sampleFiles(Path dir) throws IOException {
        java.nio.file.Files.createDirectories(dir);
        List<Path> files = new java.util.ArrayList<>();
        for (String name : sampleNames()) {
            try (InputStream in = FashionMnist.class.getResourceAsStream(SAMPLES + name)) {
                if (in == null) {
                    throw new IOException(SAMPLES + name + ": missing from this build of densenet-examples");
                }
                Path file = dir.resolve(name);
                java.nio.file.Files.copy(in, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                files.add(file);
            }
        }
        return files;
    }

    private static List<String> sampleNames() throws IOException {
        try (InputStream index = FashionMnist.class.getResourceAsStream(SAMPLES + "index.txt")) {
            if (index == null) {
                throw new IOException(SAMPLES + "index.txt: missing from this build of densenet-examples");
            }
            return new String(index.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).lines()
                    .map(String::trim).filter(l -> !l.isEmpty()).toList();
        }
    }

    /**
     * The sample test images shipped with the examples (three of each class, named
     * {@code INDEX_LABEL.png} after their place in the test set), as {@link #load} returns them.
     */
    public static DataSet samples() throws IOException {
        List<String> names = sampleNames();
        INDArray features = Nd4j.zeros(DataType.FLOAT, names.size(), 1, 28, 28);
        INDArray oneHot = Nd4j.zeros(DataType.FLOAT, names.size(), LABELS.size());
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            java.awt.image.BufferedImage img;
            try (InputStream in = FashionMnist.class.getResourceAsStream(SAMPLES + name)) {
                img = in == null ? null : javax.imageio.ImageIO.read(in);
            }
            if (img == null || img.getWidth() != 28 || img.getHeight() != 28) {
                throw new IOException(SAMPLES + name + ": not a 28x28 image");
            }
            for (int y = 0; y < 28; y++) {
                for (int x = 0; x < 28; x++) {
                    features.putScalar(new long[] {i, 0, y, x}, img.getRaster().getSample(x, y, 0));
                }
            }
            oneHot.putScalar(i, Integer.parseInt(name.replaceAll("^\\d+_(\\d)\\.png$", "$1")), 1f);
        }
        return new DataSet(features, oneHot);
    }

    private static Path find(Path dir, String name) throws IOException {
        for (Path p : new Path[] {dir.resolve(name + ".gz"), dir.resolve(name)}) {
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new IOException(dir.resolve(name + ".gz") + ": no such file; install Fashion-MNIST with "
                + "'apt-get install dataset-fashion-mnist' (Debian) or pass --data-dir");
    }

    private static DataInputStream open(Path p) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(p), 1 << 16);
        return new DataInputStream(p.toString().endsWith(".gz") ? new GZIPInputStream(in, 1 << 16) : in);
    }
}
