package org.densenet4j.cli;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import javax.imageio.ImageIO;

import org.densenet4j.examples.segmentation.MaskImages;
import org.densenet4j.examples.segmentation.SegmentationModel;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code densenet segment}: a class mask per image from a model {@code train-segmentation} wrote. */
@Command(name = "segment", mixinStandardHelpOptions = true,
        description = {"Run a segmentation model (as train-segmentation writes) on image files and write one PNG "
                + "mask per image into --out: a palette PNG whose pixel values are the class indices (background 0, "
                + "black) at the image's own size (the image is stretched to the model's input, the mask back by "
                + "nearest neighbour); with --overlay also NAME-overlay.png, the classes' colours over the image."})
final class SegmentCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "A segmentation model zip.")
    Path model;

    @Option(names = "--images", required = true, arity = "1..*",
            description = "Image files (JPEG, PNG, BMP, GIF, TIFF) or folders of them.")
    List<Path> images;

    @Option(names = "--out", required = true, description = "Folder to write NAME-mask.png into (created if needed).")
    Path out;

    @Option(names = "--overlay", description = "Also write NAME-overlay.png: the mask's colours over the image.")
    boolean overlay;

    @Option(names = "--force", description = "Replace existing mask files.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(model)) {
            throw new UserError(model + ": no such model file");
        }
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new UserError("--out " + out + ": exists and is not a folder");
        }
        List<Path> files = PredictCommand.imageFiles(images);
        List<BufferedImage> originals = new ArrayList<>();
        for (Path f : files) {
            originals.add(readImage(f));
        }
        List<Path> targets = new ArrayList<>();
        for (Path f : files) {
            String stem = f.getFileName().toString().replaceFirst("\\.[^.]*$", "");
            targets.add(out.resolve(stem + "-mask.png"));
            if (overlay) {
                targets.add(out.resolve(stem + "-overlay.png"));
            }
        }
        for (Path t : targets) {
            if (Files.exists(t) && !force) {
                throw new UserError(t + ": exists; pass --force to replace it");
            }
        }
        if (targets.stream().distinct().count() != targets.size()) {
            throw new UserError("two images have the same name without their extension; their masks would collide");
        }
        SegmentationModel seg;
        try {
            seg = SegmentationModel.read(model);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        } catch (IOException e) {
            throw new UserError(model + ": " + e.getMessage());
        }
        long start = System.nanoTime();
        int[][] masks = seg.predict(files);
        double ms = (System.nanoTime() - start) / 1e6;
        Files.createDirectories(out);
        PrintWriter o = spec.commandLine().getOut();
        int classes = seg.classes();
        int t = 0;
        for (int i = 0; i < files.size(); i++) {
            BufferedImage original = originals.get(i);
            BufferedImage mask = MaskImages.palette(masks[i], seg.height(), seg.width(), original.getHeight(),
                    original.getWidth(), classes);
            MaskImages.writePng(targets.get(t++), mask);
            if (overlay) {
                MaskImages.writePng(targets.get(t++), MaskImages.overlay(original, mask));
            }
            o.println(files.get(i) + ": " + summary(masks[i], seg.labels()));
        }
        o.printf(Locale.ROOT, "Wrote %d masks into %s; %d images at %dx%d, %.1f ms per image%n", files.size(), out,
                files.size(), seg.height(), seg.width(), ms / files.size());
        return 0;
    }

    private static BufferedImage readImage(Path f) {
        if (!Files.isRegularFile(f)) {
            throw new UserError(f + ": no such file");
        }
        try {
            BufferedImage img = ImageIO.read(f.toFile());
            if (img == null) {
                throw new UserError(f + ": not an image (JPEG, PNG, BMP, GIF, TIFF)");
            }
            return img;
        } catch (IOException e) {
            throw new UserError(f + ": unreadable (" + e.getMessage() + ")");
        }
    }

    /** The classes found, largest first, with their share of the pixels. */
    private static String summary(int[] mask, List<String> labels) {
        long[] counts = new long[Math.max(labels.size(), java.util.Arrays.stream(mask).max().orElse(0) + 1)];
        for (int c : mask) {
            counts[c]++;
        }
        List<Integer> order = new ArrayList<>();
        for (int c = 0; c < counts.length; c++) {
            if (counts[c] > 0) {
                order.add(c);
            }
        }
        order.sort((a, b) -> Long.compare(counts[b], counts[a]));
        StringBuilder sb = new StringBuilder();
        for (int c : order) {
            sb.append(sb.length() == 0 ? "" : ", ").append(c < labels.size() ? labels.get(c) : "class " + c)
                    .append(String.format(Locale.ROOT, " %.1f%%", 100.0 * counts[c] / mask.length));
        }
        return sb.toString();
    }
}
