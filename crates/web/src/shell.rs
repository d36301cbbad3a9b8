//! What the shared layout needs to draw a page: language, face, the user, navigation,
//! the CSRF token for forms, and an optional flash message.

use crate::auth::PageUser;
use crate::meta::RequestMeta;
use yidu_kernel::{Lang, Role};

/// The three terminals (三端) share one layout with three faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// 群众端: citizens, no account, phone first.
    Public,
    /// 代表端: deputies, phone first.
    Deputy,
    /// 工作端: staff, desktop.
    Staff,
}

impl Face {
    pub fn css(self) -> &'static str {
        match self {
            Face::Public => "face-public",
            Face::Deputy => "face-deputy",
            Face::Staff => "face-staff",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct UserBadge {
    pub display_name: String,
    pub role_zh: &'static str,
    pub role_en: &'static str,
}

#[derive(Debug, Clone)]
pub struct Flash {
    pub ok: bool,
    pub zh: String,
    pub en: String,
}

#[derive(Debug, Clone)]
pub struct Shell {
    pub lang: Lang,
    pub face: Face,
    pub elder: bool,
    pub title: String,
    pub user: Option<UserBadge>,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub path: String,
    pub flash: Option<Flash>,
}

/// Staff navigation: (href, zh, en, who sees it).
const STAFF_NAV: &[(&str, &str, &str, &[Role])] = &[
    ("/staff", "工作台", "Desk", &[]),
    ("/staff/opinions", "民意", "Opinions", &[]),
    (
        "/staff/classes",
        "类案",
        "Class cases",
        &[Role::Admin, Role::Office, Role::Township, Role::Department],
    ),
    ("/staff/regions", "区域", "Regions", &[]),
    ("/staff/stations", "联络站", "Stations", &[]),
    ("/staff/deputies", "代表", "Deputies", &[]),
    ("/staff/units", "承办单位", "Units", &[]),
    ("/staff/committees", "工委", "Committees", &[]),
    (
        "/staff/users",
        "用户",
        "Users",
        &[Role::Admin, Role::Office, Role::Township],
    ),
    (
        "/staff/audit",
        "审计",
        "Audit",
        &[Role::Admin, Role::Office, Role::Township],
    ),
    (
        "/staff/webhooks",
        "推送",
        "Webhooks",
        &[Role::Admin, Role::Office],
    ),
    (
        "/staff/cockpit",
        "驾驶舱",
        "Cockpit",
        &[Role::Admin, Role::Office, Role::Township],
    ),
    (
        "/staff/categories",
        "类别",
        "Categories",
        &[Role::Admin, Role::Office],
    ),
    (
        "/staff/text",
        "文本模型",
        "Text models",
        &[Role::Admin, Role::Office],
    ),
    (
        "/staff/channels",
        "外部渠道",
        "Channels",
        &[Role::Admin, Role::Office],
    ),
];

const DEPUTY_NAV: &[(&str, &str, &str)] = &[
    ("/deputy", "我的", "Mine"),
    ("/deputy/opinions", "民意", "Opinions"),
];

impl Shell {
    /// Picks the text in the page's language.
    pub fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(zh, en)
    }

    pub fn is_en(&self) -> bool {
        self.lang == Lang::En
    }

    pub fn public(meta: &RequestMeta, csrf: &str, title: &str) -> Shell {
        Shell {
            lang: meta.lang,
            face: Face::Public,
            elder: meta.elder,
            title: title.to_string(),
            user: None,
            csrf: csrf.to_string(),
            nav: Vec::new(),
            path: meta.path.clone(),
            flash: None,
        }
    }

    /// The staff or deputy face, depending on the user's role.
    pub fn for_user(meta: &RequestMeta, user: &PageUser, title: &str) -> Shell {
        let p = &user.principal;
        let current = meta.path.split('?').next().unwrap_or("");
        let face = if p.role == Role::Deputy {
            Face::Deputy
        } else {
            Face::Staff
        };
        let nav = if face == Face::Deputy {
            DEPUTY_NAV
                .iter()
                .map(|(href, zh, en)| NavItem {
                    href,
                    zh,
                    en,
                    active: current == *href,
                })
                .collect()
        } else {
            STAFF_NAV
                .iter()
                .filter(|(_, _, _, roles)| roles.is_empty() || roles.contains(&p.role))
                .map(|(href, zh, en, _)| NavItem {
                    href,
                    zh,
                    en,
                    active: if *href == "/staff" {
                        current == "/staff"
                    } else {
                        current.starts_with(href)
                    },
                })
                .collect()
        };
        Shell {
            lang: meta.lang,
            face,
            elder: meta.elder,
            title: title.to_string(),
            user: Some(UserBadge {
                display_name: p.display_name.clone(),
                role_zh: p.role.label_zh(),
                role_en: p.role.label_en(),
            }),
            csrf: user.csrf.clone(),
            nav,
            path: meta.path.clone(),
            flash: None,
        }
    }

    pub fn with_flash(mut self, ok: bool, zh: &str, en: &str) -> Shell {
        self.flash = Some(Flash {
            ok,
            zh: zh.to_string(),
            en: en.to_string(),
        });
        self
    }

    pub fn css_url(&self) -> String {
        crate::assets::css_url()
    }

    pub fn js_url(&self) -> String {
        crate::assets::js_url()
    }

    pub fn favicon_url(&self) -> String {
        crate::assets::url("favicon.svg")
    }

    pub fn body_class(&self) -> String {
        let mut c = self.face.css().to_string();
        if self.elder {
            c.push_str(" elder");
        }
        c
    }

    /// Link that switches language and comes back here.
    pub fn lang_switch_href(&self) -> String {
        let to = if self.is_en() { "zh-CN" } else { "en" };
        let back = serde_urlencoded::to_string([("back", self.path.as_str())]).unwrap_or_default();
        format!("/prefs/lang/{to}?{back}")
    }

    pub fn elder_switch_href(&self) -> String {
        let to = if self.elder { "off" } else { "on" };
        let back = serde_urlencoded::to_string([("back", self.path.as_str())]).unwrap_or_default();
        format!("/prefs/elder/{to}?{back}")
    }

    pub fn is_staff(&self) -> bool {
        self.face == Face::Staff
    }

    pub fn face_label(&self) -> &'static str {
        match self.face {
            Face::Public => self.lang.pick("群众端", "Citizens"),
            Face::Deputy => self.lang.pick("代表端", "Deputies"),
            Face::Staff => self.lang.pick("工作端", "Staff"),
        }
    }

    pub fn home_href(&self) -> &'static str {
        match self.face {
            Face::Public => "/",
            Face::Deputy => "/deputy",
            Face::Staff => "/staff",
        }
    }
}
