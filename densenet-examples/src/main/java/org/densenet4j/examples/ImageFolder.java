package org.densenet4j.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import org.densenet4j.io.Images;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A labelled image folder: one subfolder per class (sorted by name), images directly in each, as
 * DataVec's {@code ParentPathLabelGenerator} reads them. Images are decoded by {@link Images} (pure
 * Java, the same decoder {@code predict} uses).
 *
 * @param root    the folder
 * @param classes the class names, one per subfolder, sorted
 * @param files   every image, class by class
 * @param labels  the class index of each file
 */
public record ImageFolder(Path root, List<String> classes, List<Path> files, List<Integer> labels) {

    /** File names taken as images. */
    public static boolean isImage(Path p) {
        return Files.isRegularFile(p) && p.getFileName().toString().toLowerCase(Locale.ROOT)
                .matches(".*\\.(jpe?g|png|bmp|gif|tiff?)");
    }

    /**
     * Scans {@code root}.
     *
     * @throws IOException naming the folder when it is missing, has fewer than two class subfolders,
     *                     or a subfolder holds no images
     */
    public static ImageFolder scan(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            throw new IOException(root + ": no such folder (expected one subfolder of images per class)");
        }
        List<Path> folders;
        try (var listing = Files.list(root)) {
            folders = listing.filter(Files::isDirectory).sorted().toList();
        }
        if (folders.size() < 2) {
            throw new IOException(root + ": has " + folders.size() + " class subfolder(s); at least 2 are needed, "
                    + "one per class, each holding that class's images");
        }
        List<String> classes = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (Path folder : folders) {
            List<Path> images;
            try (var listing = Files.list(folder)) {
                images = listing.filter(ImageFolder::isImage).sorted().toList();
            }
            if (images.isEmpty()) {
                throw new IOException(folder + ": holds no images (.jpg, .png, .bmp, .gif, .tif)");
            }
            for (Path image : images) {
                files.add(image);
                labels.add(classes.size());
            }
            classes.add(folder.getFileName().toString());
        }
        return new ImageFolder(root, List.copyOf(classes), List.copyOf(files), List.copyOf(labels));
    }

    /** Images at {@code indices}, resized to height x width with {@code channels}, 0-255, and one-hot labels. */
    public DataSet load(List<Integer> indices, int height, int width, int channels) throws IOException {
        INDArray x = Images.load(indices.stream().map(files::get).toList(), height, width, channels);
        INDArray y = Nd4j.zeros(DataType.FLOAT, indices.size(), classes.size());
        for (int i = 0; i < indices.size(); i++) {
            y.putScalar(i, labels.get(indices.get(i)), 1f);
        }
        return new DataSet(x, y);
    }

    /**
     * A seeded split of the images, stratified by class: about {@code fraction} of each class's
     * images (at least one, unless {@code fraction} is 0) in the second list, the rest in the first.
     */
    public List<List<Integer>> split(double fraction, long seed) {
        Random rnd = new Random(seed);
        List<Integer> first = new ArrayList<>();
        List<Integer> second = new ArrayList<>();
        for (int c = 0; c < classes.size(); c++) {
            List<Integer> members = new ArrayList<>();
            for (int i = 0; i < files.size(); i++) {
                if (labels.get(i) == c) {
                    members.add(i);
                }
            }
            java.util.Collections.shuffle(members, rnd);
            int held = fraction == 0 ? 0 : Math.max(1, (int) Math.round(members.size() * fraction));
            if (held >= members.size()) {
                held = members.size() - 1; // keep one to train on; a class of one image is only trained on
            }
            second.addAll(members.subList(0, held));
            first.addAll(members.subList(held, members.size()));
        }
        return List.of(first, second);
    }
}
