package org.phenosort.phenosort.workflow;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Images/ and Masks/ of a data folder paired by file stem, by the rules of phenosort's
 * {@code find_pairs}: folder names in any case, stems compared case-sensitively, ".ome.tif"
 * one extension; an image without a mask (or the reverse) is an error that lists them.
 */
public final class FolderPairs {
    public static final String[] EXTENSIONS = {".ome.tiff", ".ome.tif", ".tiff", ".tif", ".png", ".jpeg", ".jpg", ".bmp"};

    private FolderPairs() {}

    /** An image and its label image. */
    public static final class Pair {
        public final String stem;
        public final File image;
        public final File mask;

        Pair(String stem, File image, File mask) {
            this.stem = stem;
            this.image = image;
            this.mask = mask;
        }
    }

    public static List<Pair> find(File dataDir) {
        if (!dataDir.isDirectory()) {
            throw new IllegalArgumentException(dataDir + ": folder not found (expected images/ and masks/ in it)");
        }
        File imagesDir = subdir(dataDir, "images"), masksDir = subdir(dataDir, "masks");
        Map<String, File> images = files(imagesDir), masks = files(masksDir);
        List<String> problems = new ArrayList<>();
        TreeSet<String> alone = new TreeSet<>(images.keySet());
        alone.removeAll(masks.keySet());
        if (!alone.isEmpty()) problems.add(alone.size() + " image(s) without a mask of the same stem in " + masksDir + ": " + alone);
        alone = new TreeSet<>(masks.keySet());
        alone.removeAll(images.keySet());
        if (!alone.isEmpty()) problems.add(alone.size() + " mask(s) without an image of the same stem in " + imagesDir + ": " + alone);
        if (!problems.isEmpty()) throw new IllegalArgumentException(String.join("; ", problems));
        if (images.isEmpty()) throw new IllegalArgumentException(imagesDir + ": no image files");
        List<Pair> pairs = new ArrayList<>();
        for (Map.Entry<String, File> e : images.entrySet()) pairs.add(new Pair(e.getKey(), e.getValue(), masks.get(e.getKey())));
        return pairs;
    }

    /** The file name without its image extension, or null when it has none of {@link #EXTENSIONS}. */
    public static String stem(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        for (String ext : EXTENSIONS) {
            if (lower.endsWith(ext) && lower.length() > ext.length()) return name.substring(0, name.length() - ext.length());
        }
        return null;
    }

    private static File subdir(File dataDir, String name) {
        File found = null;
        File[] children = dataDir.listFiles();
        if (children != null) {
            for (File f : children) {
                if (!f.isDirectory() || !f.getName().equalsIgnoreCase(name)) continue;
                if (found != null) throw new IllegalArgumentException(dataDir + ": both " + found.getName() + "/ and " + f.getName() + "/");
                found = f;
            }
        }
        if (found == null) throw new IllegalArgumentException(dataDir + ": no " + name + "/ folder");
        return found;
    }

    private static Map<String, File> files(File dir) {
        Map<String, File> out = new TreeMap<>();
        File[] children = dir.listFiles();
        if (children == null) return out;
        for (File f : children) {
            if (!f.isFile() || f.getName().startsWith(".")) continue;
            String stem = stem(f.getName());
            if (stem == null) continue;
            if (out.put(stem, f) != null) throw new IllegalArgumentException(dir + ": two files with the stem '" + stem + "'");
        }
        return out;
    }
}
