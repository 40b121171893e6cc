// The scheduled backup on a control-plane host (`hcb-host-backup scheduled --config FILE`), run by
// the hcb-backup.service unit that constructs/control-plane/host-backup-schedule.ts renders (or by
// cron or an init script on hosts without systemd). It writes the same file `hcb backup now`
// writes on the operator's machine (stacks/local/backup-archive.ts), so `hcb backup verify` and
// `hcb backup restore` read it with the same key:
//
//	"HCBBAK1\n", uint32 BE n, n bytes header JSON {format, cipher, iv, manifest} (the AAD),
//	AES-256-GCM ciphertext of (uint32 BE n, index JSON, the files' bytes), 16-byte tag.
//
// Go's AEAD seals a message in memory, so the payload (snapshot plus configuration) is bounded
// (maxPayload); etcd's default quota (2 GiB) fits. Nothing of the key is ever printed.
package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

const (
	backupMagic  = "HCBBAK1\n"
	backupSuffix = ".hcbbak"
	maxPayload   = 3 << 30 // etcd's default 2 GiB quota plus configuration, sealed in memory
)

// scheduleConfig is the JSON file the construct renders (schedule.json).
type scheduleConfig struct {
	Cluster    string `json:"cluster"`
	Host       string `json:"host"`
	Address    string `json:"address"`
	BackupDir  string `json:"backupDir"`
	WorkDir    string `json:"workDir"`
	KeyFile    string `json:"keyFile"`
	Retain     int    `json:"retain"`
	Etcdutl    string `json:"etcdutl"`
	HcbVersion string `json:"hcbVersion"`
	Timeout    string `json:"timeout"`
	Etcd       struct {
		Endpoint string `json:"endpoint"`
		CAFile   string `json:"caFile"`
		CertFile string `json:"certFile"`
		KeyFile  string `json:"keyFile"`
	} `json:"etcd"`
	Include []string `json:"include"`
}

type fileEntry struct {
	Name   string `json:"name"`
	Mode   uint32 `json:"mode"`
	Size   int64  `json:"size"`
	Sha256 string `json:"sha256"`
}

type manifestSource struct {
	Target  string `json:"target"`
	Host    string `json:"host"`
	Address string `json:"address"`
}

type backupManifest struct {
	Format         int             `json:"format"`
	Cluster        string          `json:"cluster"`
	Revision       int64           `json:"revision"`
	Time           string          `json:"time"`
	SnapshotSha256 string          `json:"snapshotSha256"`
	SnapshotBytes  int64           `json:"snapshotBytes"`
	Files          []fileEntry     `json:"files"`
	Versions       map[string]any  `json:"versions"`
	File           string          `json:"file"`
	Source         *manifestSource `json:"source,omitempty"`
}

var (
	clusterName = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$`)
	plainPath   = regexp.MustCompile(`^/[A-Za-z0-9._/@+-]+$`)
)

// readConfig reads and checks schedule.json: absolute plain paths, a cluster name, retain >= 1.
func readConfig(file string) (*scheduleConfig, error) {
	st, err := os.Lstat(file)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("%s must be a regular file nobody but its owner may write (mode %04o)", file, st.Mode().Perm())
	}
	text, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var c scheduleConfig
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if !clusterName.MatchString(c.Cluster) {
		return nil, fmt.Errorf("%s: cluster %q is not a lower-case name", file, c.Cluster)
	}
	if c.Retain < 1 {
		return nil, fmt.Errorf("%s: retain must be at least 1, got %d", file, c.Retain)
	}
	for name, p := range map[string]string{
		"backupDir": c.BackupDir, "workDir": c.WorkDir, "keyFile": c.KeyFile, "etcdutl": c.Etcdutl,
		"etcd.caFile": c.Etcd.CAFile, "etcd.certFile": c.Etcd.CertFile, "etcd.keyFile": c.Etcd.KeyFile,
	} {
		if !plainPath.MatchString(p) || strings.Contains(p, "..") {
			return nil, fmt.Errorf("%s: %s %q is not a plain absolute path", file, name, p)
		}
	}
	if len(c.Include) == 0 {
		return nil, fmt.Errorf("%s: include names no directory (the first is the PKI directory)", file)
	}
	for _, p := range c.Include {
		if !plainPath.MatchString(p) || strings.Contains(p, "..") {
			return nil, fmt.Errorf("%s: include %q is not a plain absolute path", file, p)
		}
	}
	return &c, nil
}

// loadBackupKey reads the 32-byte key; a key others may read is refused (as loadKey does in Node).
func loadBackupKey(file string) ([]byte, error) {
	st, err := os.Lstat(file)
	if err != nil {
		return nil, fmt.Errorf("backup key: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("backup key %s is not a regular file", file)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("backup key %s has mode %04o; it must not be readable by group or others", file, st.Mode().Perm())
	}
	key, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("backup key: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("backup key %s must hold exactly 32 bytes, it has %d", file, len(key))
	}
	return key, nil
}

func scheduled(args []string) error {
	flags := flag.NewFlagSet("scheduled", flag.ContinueOnError)
	configFile := flags.String("config", "", "schedule.json rendered by the HostBackupSchedule construct")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *configFile == "" {
		return errors.New("scheduled needs --config FILE")
	}
	c, err := readConfig(*configFile)
	if err != nil {
		return err
	}
	timeout := 10 * time.Minute
	if c.Timeout != "" {
		if timeout, err = time.ParseDuration(c.Timeout); err != nil || timeout <= 0 {
			return fmt.Errorf("timeout %q is not a positive duration", c.Timeout)
		}
	}
	key, err := loadBackupKey(c.KeyFile)
	if err != nil {
		return err
	}
	for _, d := range []string{c.WorkDir, c.BackupDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return err
		}
	}
	// One run at a time: a run started while another still runs exits with an error (no overlap).
	lock, err := os.OpenFile(filepath.Join(c.WorkDir, "scheduled.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return errors.New("another scheduled backup is running (lock held); this run does nothing")
	}

	// 1. the snapshot, through etcd's API with the API server's client certificate
	u, err := url.Parse(c.Etcd.Endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("etcd endpoint %q is not an https URL", c.Etcd.Endpoint)
	}
	caPEM, err := os.ReadFile(c.Etcd.CAFile)
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(c.Etcd.CertFile, c.Etcd.KeyFile)
	if err != nil {
		return fmt.Errorf("etcd client certificate: %w", err)
	}
	cfg, err := tlsConfig(caPEM, cert, u.Hostname())
	if err != nil {
		return err
	}
	snapPath := filepath.Join(c.WorkDir, fmt.Sprintf("scheduled-%d.db", os.Getpid()))
	defer os.Remove(snapPath)
	f, err := os.OpenFile(snapPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	snap, err := stream(cfg, u, f, timeout)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// 2. its revision, as etcdutl reads it (the same tool `hcb backup now` uses)
	revision, err := etcdutlRevision(c.Etcdutl, snapPath)
	if err != nil {
		return err
	}
	// 3. the payload: index, snapshot, configuration files (sorted, regular files only; the first
	// included directory, the PKI, must hold some)
	snapBytes, err := os.ReadFile(snapPath)
	if err != nil {
		return err
	}
	if int64(len(snapBytes)) != snap.Bytes || hexSum(snapBytes) != snap.Sha256 {
		return errors.New("the snapshot file is not what etcd streamed")
	}
	entries := []fileEntry{{Name: "etcd/snapshot.db", Mode: 0o600, Size: snap.Bytes, Sha256: snap.Sha256}}
	contents := [][]byte{snapBytes}
	total := int64(len(snapBytes))
	var paths []string
	for _, dir := range c.Include {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == dir {
					return fs.SkipDir
				}
				return err
			}
			if d.Type().IsRegular() {
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	sort.Strings(paths)
	pki := false
	for _, p := range paths {
		if !plainPath.MatchString(p) || strings.Contains(p, "/../") {
			return fmt.Errorf("refusing to back up a file with an unusual name: %q", p)
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if int64(len(b)) != st.Size() {
			return fmt.Errorf("%s changed while it was read", p)
		}
		entries = append(entries, fileEntry{Name: "config" + p, Mode: uint32(st.Mode().Perm()), Size: st.Size(), Sha256: hexSum(b)})
		contents = append(contents, b)
		total += st.Size()
		pki = pki || strings.HasPrefix(p, c.Include[0]+"/")
	}
	if !pki {
		return fmt.Errorf("%s holds no files (is this a control plane made by kubeadm?)", c.Include[0])
	}
	if total > maxPayload {
		return fmt.Errorf("the backup would hold %d bytes; the host program seals at most %d in memory (take this backup with hcb backup now from the operator's machine)", total, int64(maxPayload))
	}
	index, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	payload := make([]byte, 0, 4+len(index)+int(total))
	payload = binary.BigEndian.AppendUint32(payload, uint32(len(index)))
	payload = append(payload, index...)
	for _, b := range contents {
		payload = append(payload, b...)
	}

	// 4. the manifest, the header (authenticated as AAD) and the sealed payload
	now := time.Now().UTC()
	name := fmt.Sprintf("%s-%s-r%d%s", c.Cluster, now.Format("20060102T150405Z"), revision, backupSuffix)
	m := backupManifest{
		Format: 1, Cluster: c.Cluster, Revision: revision, Time: now.Format("2006-01-02T15:04:05.000Z"),
		SnapshotSha256: snap.Sha256, SnapshotBytes: snap.Bytes, Files: entries,
		Versions: map[string]any{"etcd": snap.Version, "hcb": c.HcbVersion}, File: name,
		Source: &manifestSource{Target: "hosts", Host: c.Host, Address: c.Address},
	}
	if snap.Version == "" {
		delete(m.Versions, "etcd")
	}
	iv := make([]byte, 12)
	if _, err := rand.Read(iv); err != nil {
		return err
	}
	header, err := json.Marshal(map[string]any{"format": 1, "cipher": "aes-256-gcm", "iv": base64.StdEncoding.EncodeToString(iv), "manifest": m})
	if err != nil {
		return err
	}
	aad := binary.BigEndian.AppendUint32([]byte(backupMagic), uint32(len(header)))
	aad = append(aad, header...)
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	gcm, err := cipher.NewGCM(block) // 12-byte nonce, 16-byte tag appended by Seal
	if err != nil {
		return err
	}
	sealed := gcm.Seal(nil, iv, payload, aad)
	dest := filepath.Join(c.BackupDir, name)
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("%s exists already", dest)
	}
	if err := writeAtomic(dest, [][]byte{aad, sealed}); err != nil {
		return err
	}
	mj, _ := json.MarshalIndent(m, "", "  ")
	if err := writeAtomic(dest+".json", [][]byte{mj, []byte("\n")}); err != nil {
		return err
	}
	fmt.Printf("wrote %s (revision %d, %d bytes of etcd data, %d config files)\n", dest, revision, snap.Bytes, len(entries)-1)
	// 5. retention: the newest `retain` backups of this cluster stay
	removed, err := pruneBackups(c.BackupDir, c.Cluster, c.Retain)
	for _, r := range removed {
		fmt.Printf("removed %s (retention keeps the newest %d)\n", r, c.Retain)
	}
	return err
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func etcdutlRevision(etcdutl, db string) (int64, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(etcdutl, "snapshot", "status", db, "--write-out", "json")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("etcdutl snapshot status failed: %v %s", err, strings.TrimSpace(stderr.String()))
	}
	var st struct {
		Revision int64 `json:"revision"`
	}
	if err := json.Unmarshal(out, &st); err != nil || st.Revision <= 0 {
		return 0, fmt.Errorf("etcdutl reported no revision for the snapshot: %s", bytes.TrimSpace(out))
	}
	return st.Revision, nil
}

// writeAtomic writes parts to a new temporary file beside dest (0600), fsyncs it, renames it over
// dest and fsyncs the directory.
func writeAtomic(dest string, parts [][]byte) error {
	tmp := fmt.Sprintf("%s.partial-%d", dest, os.Getpid())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if _, err = f.Write(p); err != nil {
			break
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dest)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(filepath.Dir(dest))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// pruneBackups removes the oldest backups of cluster beyond retain (manifest time, newest first,
// as listBackups orders them); only files named like ours.
func pruneBackups(dir, cluster string, retain int) ([]string, error) {
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var mine []backupManifest
	for _, e := range names {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), backupSuffix) {
			continue
		}
		text, err := os.ReadFile(filepath.Join(dir, e.Name()+".json"))
		if err != nil {
			continue // no manifest beside it: not pruned by a scheduled run
		}
		var m backupManifest
		if json.Unmarshal(text, &m) != nil || m.Cluster != cluster || m.File != e.Name() {
			continue
		}
		mine = append(mine, m)
	}
	sort.Slice(mine, func(i, j int) bool {
		if mine[i].Time != mine[j].Time {
			return mine[i].Time > mine[j].Time
		}
		return mine[i].Revision > mine[j].Revision
	})
	var removed []string
	for i := retain; i < len(mine); i++ {
		for _, p := range []string{mine[i].File, mine[i].File + ".json"} {
			if err := os.Remove(filepath.Join(dir, p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return removed, err
			}
		}
		removed = append(removed, mine[i].File)
	}
	return removed, nil
}
