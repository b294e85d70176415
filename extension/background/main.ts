// The background: Chrome's MV3 service worker (which the browser may stop at any time; every
// listener is registered synchronously here so events wake it), Firefox's background page.
import { browser } from 'wxt/browser';
import type { Browser } from 'wxt/browser';
import type { Summary, WsServerFrame } from '../../shared/api.ts';
import { siteOf } from '../../shared/site.ts';
import type { AddressReply, ContentRequest, FillReply, PopupRequest, RecentCodeReply } from '../messages.ts';
import { RelayClient, socketUrl } from '../utils/relay.ts';
import * as storage from '../utils/storage.ts';
import type { ConnectionStatus, Settings } from '../utils/storage.ts';
import { AddressBook } from './addresses.ts';
import { deliver, isFresh } from './codes.ts';
import { RelayConnection } from './connection.ts';
import type { SocketLike } from './connection.ts';
import { copy, notify, parseNoteId, sendCode, tabUrl, tabsForSite, tell } from './platform.ts';

const IS_FIREFOX = import.meta.env.FIREFOX;
const MENU_ID = 'wisp-fill';
const WATCHDOG = 'wisp-watchdog';

type Sender = Browser.runtime.MessageSender;

export function startBackground(): void {
  let connection: RelayConnection | null = null;
  let connectedFor: string | null = null;

  const client = async (): Promise<RelayClient | null> => {
    const settings = await storage.get('settings');
    return settings ? new RelayClient(settings) : null;
  };
  const addresses = new AddressBook({ load: storage.load, save: storage.save }, client);

  // ------------------------------------------------------------ the relay connection

  function connect(settings: Settings | null): void {
    const key = settings ? `${settings.relayUrl}\n${settings.token}` : null;
    if (connection && key === connectedFor) {
      connection.ensure();
      return;
    }
    connection?.stop();
    connection = null;
    connectedFor = key;
    if (!settings) {
      void storage.save({ status: { state: 'unpaired', at: Date.now() } });
      return;
    }
    connection = new RelayConnection({
      url: socketUrl(settings.relayUrl),
      token: settings.token,
      createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
      since: () => storage.get('lastMessageId'),
      onFrame,
      onStatus: (status: ConnectionStatus) => void storage.save({ status }),
    });
    connection.start();
  }

  async function onFrame(frame: WsServerFrame): Promise<void> {
    if (frame.type === 'hello') {
      void addresses
        .refresh()
        .catch((err: unknown) => console.warn('wisp: address refresh failed', err))
        .then(() => addresses.ensureSpare());
    } else if (frame.type === 'message') await onMessage(frame.message);
    else if (frame.type === 'alias') await addresses.onAliasEvent(frame.event, frame.alias);
  }

  async function onMessage(message: Summary): Promise<void> {
    const { handled } = await storage.load('handled');
    if (!handled.includes(message.id) && isFresh(message)) {
      const site = await addresses.siteOfMessage(message);
      const result = await deliver(message, site, { tabsForSite, sendCode, copy, notify }).catch((err: unknown) => {
        console.warn('wisp: delivery failed', err);
        return null;
      });
      // No tab of the site listening yet (a page that is still loading): one more look shortly.
      if (result && result.tabs === 0 && site && message.code) {
        const code = message.code;
        setTimeout(() => {
          void tabsForSite(site).then(async (tabs) => {
            if (tabs.length === 0) return;
            await Promise.all(tabs.map((id) => sendCode(id, code, message.id)));
            await copy(code).catch(() => false);
          });
        }, 2500);
      }
    }
    const { recent, handled: nowHandled } = await storage.load('recent', 'handled');
    await storage.save({
      recent: [message, ...recent.filter((m) => m.id !== message.id)].slice(0, 100),
      handled: [...nowHandled.filter((id) => id !== message.id), message.id].slice(-300),
      lastMessageId: message.id,
    });
  }

  /** After a new pairing: start from the relay's newest message, so old mail is not replayed. */
  async function pair(settings: Settings): Promise<void> {
    await storage.resetAccountState();
    try {
      const { messages } = await new RelayClient(settings).messages({ limit: 1 });
      await storage.save({ lastMessageId: messages[0]?.id ?? '0' });
    } catch {
      /* the relay is not answering: the first frame will set it */
    }
  }

  async function boot(): Promise<void> {
    const settings = await storage.get('settings');
    connect(settings);
  }

  // ------------------------------------------------------------ filling

  async function addressForUrl(url: string | null | undefined): Promise<AddressReply> {
    const site = url ? siteOf(url) : null;
    if (!site || !/^https?:/i.test(url ?? '')) return { ok: false, reason: 'no-site', message: 'This page has no site to make an address for.' };
    if (!(await storage.get('settings'))) return { ok: false, reason: 'unpaired', message: 'Pair Wisp with your relay first.' };
    try {
      const address = await addresses.addressFor(site);
      connection?.ensure();
      return { ok: true, address };
    } catch (err) {
      return { ok: false, reason: 'failed', message: err instanceof Error ? err.message : String(err) };
    }
  }

  /** The newest fresh code for the sender's site, for a code field that appeared after it came. */
  async function recentCode(url: string | undefined): Promise<RecentCodeReply> {
    const site = url && /^https?:/i.test(url) ? siteOf(url) : null;
    if (!site) return { code: null };
    const { recent } = await storage.load('recent');
    for (const m of recent) {
      if (!m.code || !isFresh(m)) continue;
      if ((await addresses.siteOfMessage(m)) === site) return { code: m.code };
    }
    return { code: null };
  }

  async function fillInTab(tabId: number, pageUrl?: string): Promise<void> {
    const url = pageUrl ?? (await tabUrl({ id: tabId }));
    const reply = await addressForUrl(url);
    if (!reply.ok) {
      if (reply.reason === 'unpaired') await browser.runtime.openOptionsPage();
      return;
    }
    await tell<FillReply>(tabId, { type: 'fill-focused', address: reply.address });
  }

  // ------------------------------------------------------------ listeners (registered at once)

  browser.runtime.onMessage.addListener((raw: unknown, sender: Sender) => {
    const msg = raw as (ContentRequest | PopupRequest | { target?: string }) | undefined;
    if (!msg || typeof msg !== 'object' || 'target' in msg) return undefined; // for the offscreen document
    switch ((msg as ContentRequest | PopupRequest).type) {
      case 'address':
        return addressForUrl(sender.tab ? (sender.url ?? sender.tab.url) : undefined);
      case 'open-options':
        return browser.runtime.openOptionsPage();
      case 'recent-code':
        return recentCode(sender.tab ? (sender.url ?? sender.tab.url) : undefined);
      case 'pair-offer': {
        const offer = msg as Extract<ContentRequest, { type: 'pair-offer' }>;
        // Only the relay's own page may offer itself (the content script checks it too).
        if (!sender.url || new URL(sender.url).origin !== new URL(offer.relayUrl).origin) return undefined;
        return storage
          .save({ pairOffer: { relayUrl: offer.relayUrl, token: offer.token, at: Date.now() } })
          .then(() => browser.runtime.openOptionsPage())
          .then(() => true);
      }
      case 'generate': {
        const { site } = msg as Extract<PopupRequest, { type: 'generate' }>;
        return addresses.generate(site).then(
          (address) => ({ ok: true, address }) satisfies AddressReply,
          (err: unknown) => ({ ok: false, reason: 'failed', message: err instanceof Error ? err.message : String(err) }) satisfies AddressReply,
        );
      }
      case 'reconnect':
        void boot().then(() => connection?.ensure());
        return Promise.resolve(true);
      default:
        return undefined;
    }
  });

  browser.storage.onChanged.addListener((changes, area) => {
    if (area !== 'local' || !('settings' in changes)) return;
    const before = changes.settings?.oldValue as Settings | undefined;
    const after = (changes.settings?.newValue as Settings | undefined) ?? null;
    const changed = !before || !after || before.relayUrl !== after.relayUrl || before.token !== after.token;
    if (!changed) return;
    connection?.stop();
    connection = null;
    connectedFor = null;
    void (after ? pair(after) : storage.resetAccountState()).then(() => connect(after));
  });

  browser.contextMenus.onClicked.addListener((info, tab) => {
    if (info.menuItemId !== MENU_ID || tab?.id === undefined) return;
    void fillInTab(tab.id, info.pageUrl ?? tab.url);
  });

  browser.commands.onCommand.addListener((command: string, tab?: Browser.tabs.Tab) => {
    if (command !== 'fill-temp-address') return;
    void (async () => {
      const target = tab?.id !== undefined ? tab : (await browser.tabs.query({ active: true, currentWindow: true }))[0];
      if (target?.id !== undefined) await fillInTab(target.id, target.url);
    })();
  });

  async function act(notificationId: string, index: number | null): Promise<void> {
    const parsed = parseNoteId(notificationId);
    if (!parsed) return;
    const action = index === null ? parsed.actions[0] : parsed.actions[index];
    const { recent } = await storage.load('recent');
    let message = recent.find((m) => m.id === parsed.messageId);
    if (!message) {
      const c = await client();
      message = c ? (await c.messages({ limit: 50 })).messages.find((m) => m.id === parsed.messageId) : undefined;
    }
    if (!message) return;
    if (action === 'copy' && message.code) await copy(message.code);
    if (action === 'open' && message.link && /^https?:\/\//i.test(message.link)) await browser.tabs.create({ url: message.link });
    await browser.notifications.clear(notificationId);
  }
  browser.notifications.onClicked.addListener((id) => void act(id, null));
  browser.notifications.onButtonClicked?.addListener((id, index) => void act(id, index));

  const makeMenu = () =>
    browser.contextMenus
      .removeAll()
      .then(() => browser.contextMenus.create({ id: MENU_ID, title: 'Fill temp address', contexts: ['editable'] }))
      .catch((err: unknown) => console.warn('wisp: context menu', err));
  browser.runtime.onInstalled.addListener(() => void makeMenu());
  if (IS_FIREFOX) void makeMenu(); // Firefox does not keep menus between sessions

  if (!IS_FIREFOX) {
    // A stopped service worker wakes at least once a minute and reconnects (with `since`).
    browser.alarms.onAlarm.addListener((alarm) => {
      if (alarm.name === WATCHDOG) void boot();
    });
    void browser.alarms.get(WATCHDOG).then((a) => {
      if (!a) void browser.alarms.create(WATCHDOG, { periodInMinutes: 1 });
    });
  }
  globalThis.addEventListener?.('online', () => connection?.ensure());

  void boot();
}
