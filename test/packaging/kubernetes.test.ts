// deploy/kubernetes: both overlays render with `kubectl kustomize`, every rendered object
// validates against the Kubernetes schemas (kubernetes-models; the ServiceMonitor against the
// prometheus-operator CRD's), and the manifests do what they say: probes, the hardened
// security context, replicas and the disruption budget, and settings the server understands.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IContainer, IPodSpec } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { haveTool, run } from '../support/tools.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const OVERLAYS = ['postgres', 'sqlite'] as const;
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
const CONTAINERFILE = readFileSync(join(ROOT, 'Containerfile'), 'utf8');

/** The schema of each kind the manifests may hold; anything else is a mistake. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

/** A rendered object: typed where the checks need it, the spec read as the YAML says. */
type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the manifests' shapes vary by kind
  spec?: any;
  data?: Record<string, string>;
};

function render(overlay: string): Obj[] {
  const result = run('kubectl', ['kustomize', join(ROOT, 'deploy/kubernetes/overlays', overlay)]);
  expect(result.status, result.stderr).toBe(0);
  return parseAllDocuments(result.stdout).map((d) => d.toJS() as Obj);
}

function validationErrors(obj: Obj): string | undefined {
  const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!Model) return `no schema for ${obj.apiVersion} ${obj.kind}`;
  try {
    new Model(obj as never).validate();
    return undefined;
  } catch (err) {
    return `${obj.kind} ${obj.metadata.name}: ${(err as Error).message}`;
  }
}

function one(objects: Obj[], kind: string): Obj {
  const found = objects.filter((o) => o.kind === kind);
  expect(found.map((o) => o.metadata.name)).toHaveLength(1);
  return found[0]!;
}

/** Ports the pods may reach: NetworkPolicies that select them add up. */
function egressPorts(objects: Obj[]): number[] {
  return objects
    .filter((o) => o.kind === 'NetworkPolicy')
    .flatMap((o) => o.spec.egress ?? [])
    .flatMap((rule: { ports: { port: number }[] }) => rule.ports.map((p) => p.port));
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

describe.runIf(haveTool('kubectl', 'kubernetes-client'))('the Kubernetes manifests', () => {
  // rendered once, on first use (not while collecting: a skipped suite needs no kubectl)
  const cache = new Map<string, Obj[]>();
  const rendered = (overlay: (typeof OVERLAYS)[number]): Obj[] => {
    if (!cache.has(overlay)) cache.set(overlay, render(overlay));
    return cache.get(overlay)!;
  };

  it.each(OVERLAYS)('%s: every rendered object validates against its schema', (overlay) => {
    const objects = rendered(overlay);
    expect(objects.length).toBeGreaterThanOrEqual(6);
    expect(objects.map(validationErrors).filter(Boolean)).toEqual([]);
    for (const o of objects) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('keyholder');
  });

  it('the validation notices a broken object', () => {
    const deployment = structuredClone(one(rendered('postgres'), 'Deployment'));
    deployment.spec.template.spec.containers[0].ports[0].containerPort = 'https';
    expect(validationErrors(deployment)).toMatch(/containerPort must be integer/);
    const monitor = structuredClone(one(rendered('postgres'), 'ServiceMonitor'));
    monitor.spec.endpoints = 'https';
    expect(validationErrors(monitor)).toMatch(/endpoints must be array/);
  });

  describe.each(OVERLAYS)('%s', (overlay) => {
    let objects: Obj[];
    let workload: Obj;
    let pod: IPodSpec;
    let container: IContainer;
    let config: Obj;
    let env: Record<string, string | undefined>;
    beforeAll(() => {
      objects = rendered(overlay);
      workload = objects.find((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')!;
      pod = workload.spec.template.spec as IPodSpec;
      container = pod.containers[0] as IContainer;
      config = one(objects, 'ConfigMap');
      env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
    });

    it('runs the image of this version, hardened: non-root, read-only root, no capabilities, seccomp', () => {
      expect(container.image).toBe(`keyholder:${VERSION}`);
      // the Containerfile's numeric user
      expect(CONTAINERFILE).toMatch(/^USER 10001:10001$/m);
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 10001,
        runAsGroup: 10001,
        fsGroup: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(container.securityContext?.capabilities?.add).toBeUndefined();
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.hostNetwork ?? false).toBe(false);
    });

    it('mounts every volume it uses; writes only to emptyDir or its own claim', () => {
      const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
      const claims = new Set(
        (workload.spec.volumeClaimTemplates ?? []).map(
          (c: { metadata: { name: string } }) => c.metadata.name,
        ),
      );
      for (const mount of container.volumeMounts ?? []) {
        const volume = volumes.get(mount.name);
        expect(volume ?? claims.has(mount.name), mount.name).toBeTruthy();
        if (!mount.readOnly) expect(volume?.emptyDir ?? claims.has(mount.name), mount.name).toBeTruthy();
      }
      expect(container.volumeMounts?.find((m) => m.mountPath === '/etc/keyholder/tls')?.readOnly).toBe(true);
    });

    it('probes /healthz (liveness) and /readyz (readiness) over HTTPS on the served port', () => {
      const port = container.ports?.find((p) => p.name === 'https');
      expect(port?.containerPort).toBe(8443);
      expect(CONTAINERFILE).toMatch(/^EXPOSE 8443$/m);
      expect(config.data?.KEYHOLDER_PORT).toBe('8443');
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
      expect(container.startupProbe?.httpGet?.scheme).toBe('HTTPS');
    });

    it('has a Service, a NetworkPolicy and a ServiceMonitor that reach these pods', () => {
      const labels = workload.spec.template.metadata.labels as Record<string, string>;
      expect(matches(workload.spec.selector.matchLabels, labels)).toBe(true);
      const service = one(objects, 'Service');
      expect(matches(service.spec.selector, labels)).toBe(true);
      expect(service.spec.ports).toEqual([
        { name: 'https', port: 8443, targetPort: 'https', protocol: 'TCP' },
      ]);
      for (const p of objects.filter((o) => o.kind === 'NetworkPolicy')) {
        expect(matches(p.spec.podSelector.matchLabels, labels), p.metadata.name).toBe(true);
      }
      const policy = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'keyholder')!;
      expect(policy.spec.ingress).toEqual([{ ports: [{ port: 8443, protocol: 'TCP' }] }]);
      const monitor = one(objects, 'ServiceMonitor');
      expect(matches(monitor.spec.selector.matchLabels, service.metadata.labels ?? {})).toBe(true);
      expect(monitor.spec.endpoints).toMatchObject([{ port: 'https', scheme: 'https', path: '/metrics' }]);
      if (workload.kind === 'StatefulSet') expect(workload.spec.serviceName).toBe(service.metadata.name);
    });

    it('gives the server settings it understands, secrets as files from Secrets', () => {
      expect(container.envFrom).toEqual([{ configMapRef: { name: config.metadata.name } }]);
      const names = [...Object.keys(config.data ?? {}), ...Object.keys(env)];
      const loader = readFileSync(join(ROOT, 'src/config/load.ts'), 'utf8');
      // the loader names each variable it reads (a `_FILE` variant with its base name)
      for (const name of names)
        expect(loader, name).toMatch(new RegExp(`\\b${name.replace(/_FILE$/, '')}\\b`));

      // the settings as the server reads them, with the secret files made up
      const dir = mkdtempSync(join(inject('tmpRoot'), 'keyholder-k8s-'));
      const files: Record<string, string> = {};
      for (const [name, value] of Object.entries({ ...config.data, ...env })) {
        if (!name.endsWith('_FILE') || !value) continue;
        files[name] = join(dir, name);
        writeFileSync(files[name], name.includes('DATABASE') ? 'postgres://kh@db/keyholder' : 'a-password');
      }
      const loaded = loadConfig({
        env: { ...config.data, ...env, ...files, KEYHOLDER_INSTANCE_ID: 'keyholder-0' },
      });
      expect(loaded.port).toBe(8443);
      expect(loaded.tls).toMatchObject({
        cert: '/etc/keyholder/tls/tls.crt',
        ca: '/etc/keyholder/tls/ca.crt',
      });
      expect(loaded.adminPassword).toBe('a-password');
      expect(
        container.env?.find((e) => e.name === 'KEYHOLDER_INSTANCE_ID')?.valueFrom?.fieldRef?.fieldPath,
      ).toBe('metadata.name');
      // every *_FILE points into a read-only mount of a Secret
      for (const name of Object.keys(files)) {
        const path = ({ ...config.data, ...env } as Record<string, string>)[name]!;
        const mount = container.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
        expect(mount?.readOnly, name).toBe(true);
        const volume = pod.volumes?.find((v) => v.name === mount?.name);
        const items = volume?.projected?.sources?.flatMap((s) => s.secret?.items ?? []) ?? [];
        expect(
          items.map((i) => `${mount!.mountPath}/${i.path}`),
          name,
        ).toContain(path);
      }
      if (overlay === 'postgres') expect(loaded.database.url).toBe('postgres://kh@db/keyholder');
      else expect(loaded.database.url).toBeUndefined();
    });
  });

  it('postgres: several replicas, kept apart, and a PodDisruptionBudget that lets one go at a time', () => {
    const objects = rendered('postgres');
    const deployment = one(objects, 'Deployment');
    const budget = one(objects, 'PodDisruptionBudget');
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(3);
    expect(budget.spec.minAvailable).toBe(deployment.spec.replicas - 1);
    expect(matches(budget.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
    expect(deployment.spec.template.spec.affinity.podAntiAffinity).toBeDefined();
    const egress = egressPorts(objects);
    expect(egress).toEqual(expect.arrayContaining([53, 443, 5432]));
  });

  it('sqlite: a StatefulSet of one replica with its database on a claim, no disruption budget', () => {
    const objects = rendered('sqlite');
    const set = one(objects, 'StatefulSet');
    expect(set.spec.replicas).toBe(1);
    expect(objects.filter((o) => o.kind === 'Deployment' || o.kind === 'PodDisruptionBudget')).toEqual([]);
    expect(set.spec.volumeClaimTemplates.map((c: { metadata: { name: string } }) => c.metadata.name)).toEqual(
      ['data'],
    );
    const mounts = set.spec.template.spec.containers[0].volumeMounts as { name: string; mountPath: string }[];
    expect(mounts.find((m) => m.name === 'data')?.mountPath).toBe('/var/lib/keyholder');
    expect(CONTAINERFILE).toMatch(/KEYHOLDER_DATA_DIR=\/var\/lib\/keyholder/);
    const egress = egressPorts(objects);
    expect(egress).not.toContain(5432);
  });
});
